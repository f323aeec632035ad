// Forwards the service's events to every subscribed connection: one service subscription for the
// daemon, each event checked once against the protocol before any client sees it.
import type { BatonService, ServiceEvent } from '../../domain/switch/service.js';
import { serviceEventSchema } from '../../protocol/helper-protocol.js';

export type EventSink = (event: ServiceEvent) => void;

export class EventHub {
  private readonly sinks = new Set<EventSink>();
  private readonly stopService: () => void;

  constructor(service: BatonService, private readonly log: (line: string) => void) {
    this.stopService = service.subscribe((event) => this.publish(event));
  }

  /** Returns the way to stop; calling it twice is harmless. */
  add(sink: EventSink): () => void {
    this.sinks.add(sink);
    return () => void this.sinks.delete(sink);
  }

  get size(): number {
    return this.sinks.size;
  }

  close(): void {
    this.stopService();
    this.sinks.clear();
  }

  private publish(event: ServiceEvent): void {
    const checked = serviceEventSchema.safeParse(event);
    if (!checked.success) {
      this.log(`dropped an event the protocol does not allow: ${JSON.stringify(event).slice(0, 200)}`);
      return;
    }
    for (const sink of this.sinks) {
      try {
        sink(event);
      } catch (err) {
        this.log(`event delivery failed: ${(err as Error).message}`);
      }
    }
  }
}
