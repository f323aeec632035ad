// The HelperSession port over the real helper client (app/protocol/helper-client.ts): one Unix
// socket connection, answers validated by the protocol's schemas.
import { connectHelper, type HelperClient } from '../protocol/helper-client.js';
import type { ConnectSession, HelperSession } from './helper-connection.js';

export function sessionOver(client: HelperClient): HelperSession {
  return {
    async subscribeDesk() {
      await client.call('hello', { client: 'baton-tray' });
      return (await client.call('desk.subscribe')).snapshot;
    },
    onDeskEvent: (listener) => void client.onDesk(listener),
    switchGpu: (gpu, target, requestedBy) => client.call('switch', { gpu, target, requestedBy }),
    history: (query) => client.call('desk.history', query),
    onClose: (listener) => client.onClose(listener),
    close: () => client.close(),
  };
}

export const connectSession: ConnectSession = async (socketPath) => sessionOver(await connectHelper(socketPath));
