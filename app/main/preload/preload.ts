// The preload: exposes exactly one object, window.batonDesk (bridge.ts), and nothing of ipcRenderer.
// Bundled into one CommonJS file (scripts/build-main.mjs): a sandboxed preload cannot import.
import { contextBridge, ipcRenderer } from 'electron';
import { BRIDGE_GLOBAL, createBatonBridge } from './bridge.js';

const bridge = createBatonBridge({
  invoke: (channel, arg) => ipcRenderer.invoke(channel, arg),
  on(channel, listener) {
    // The renderer never sees the IpcRendererEvent (it carries ipcRenderer itself).
    const wrapped = (_event: Electron.IpcRendererEvent, payload: unknown) => listener(payload);
    ipcRenderer.on(channel, wrapped);
    return () => {
      ipcRenderer.removeListener(channel, wrapped);
    };
  },
});

contextBridge.exposeInMainWorld(BRIDGE_GLOBAL, bridge);
