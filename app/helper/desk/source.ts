// What the daemon needs from the desk: the snapshot, its events, and history pages. The feed
// (feed.ts) implements it over the service, the host, the history and the config.
import type { z } from 'zod';
import type { DeskEvent, DeskHistoryPage, DeskSnapshot, deskHistoryQuerySchema } from '../../protocol/desk.js';

export type DeskHistoryFilter = z.output<typeof deskHistoryQuerySchema>;

export interface DeskSource {
  /** The desk now (the latest snapshot, built again when something changed since). */
  snapshot(): Promise<DeskSnapshot>;
  /** Every DeskEvent from now on, already checked against the protocol. Returns the way to stop. */
  subscribe(listener: (event: DeskEvent) => void): () => void;
  historyPage(query: DeskHistoryFilter): Promise<DeskHistoryPage>;
}
