// Entry: pick the DeskClient (Electron's preload bridge when present, else the WebSocket that
// `baton ui` serves) and render the app.
import { createRoot } from 'react-dom/client';
import { App } from './app/App';
import type { DeskClient } from '../client/types';
import { WsDeskClient } from '../client/ws-client';

declare global {
  interface Window {
    /** Set by the Electron preload (app/main): the same DeskClient over IPC. */
    batonDesk?: DeskClient;
  }
}

const client: DeskClient = window.batonDesk ?? WsDeskClient.fromLocation(window.location, window.sessionStorage, window.history);
createRoot(document.getElementById('root')!).render(<App client={client} />);
