// Electron main's composition root: the one place that holds Electron's objects. Everything it
// decides is done by BatonApplication (application.ts) through ports; this file only builds the
// ports, the window and the app protocol, and applies the security checklist.
import { app, BrowserWindow, ipcMain, nativeTheme, protocol, session, type WebContents } from 'electron';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SOCKET_PATH } from '../../protocol/helper-protocol.js';
import { ipcChannel } from '../../protocol/ipc-schema.js';
import { APP_URL, appResponseHeaders, isAppRequest, resolveAppFile } from '../app-protocol.js';
import { BatonApplication } from '../application.js';
import { connectSession } from '../helper-session.js';
import { APP_ORIGIN } from '../ipc-main.js';
import { realTimers } from '../ports.js';
import { allowNavigation, allowPermission, DESKTOP_FILE_NAME, SECURE_WEB_PREFERENCES, WAYLAND_FEATURES } from '../security.js';
import { gdbusSessionBus } from '../session-bus.js';
import { electronNotifier, electronShortcuts, electronTray } from './adapters.js';

const here = dirname(fileURLToPath(import.meta.url));
const appRoot = app.getAppPath();
const assetsDir = app.isPackaged ? join(process.resourcesPath, 'assets') : join(appRoot, 'assets');
const rendererDir = join(appRoot, 'renderer', 'dist');
const socketPath = process.argv.find((a) => a.startsWith('--socket='))?.slice('--socket='.length) ?? process.env.BATON_SOCKET ?? DEFAULT_SOCKET_PATH;

// Before ready: the identity the Wayland portals and the .desktop file share, the portal features,
// the sandbox for every renderer, and the app scheme.
app.setDesktopName(DESKTOP_FILE_NAME);
app.commandLine.appendSwitch('enable-features', WAYLAND_FEATURES.join(','));
app.enableSandbox();
protocol.registerSchemesAsPrivileged([{ scheme: APP_ORIGIN.scheme, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

let window: BrowserWindow | null = null;
let quitting = false;
let application: BatonApplication | null = null;

function lockDown(contents: WebContents): void {
  contents.on('will-navigate', (event, url) => {
    if (!allowNavigation(url)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!allowNavigation(url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

function openWindow(): BrowserWindow {
  if (window && !window.isDestroyed()) return window;
  const win = new BrowserWindow({
    width: 1100,
    height: 760,
    show: false,
    title: 'Baton',
    backgroundColor: nativeTheme.shouldUseDarkColors ? '#1b1d21' : '#f6f7f9',
    webPreferences: { ...SECURE_WEB_PREFERENCES, preload: join(here, '..', 'preload.cjs') },
  });
  win.once('ready-to-show', () => win.show());
  win.on('close', (event) => {
    if (quitting || !application) return;
    event.preventDefault();
    application.windowCloseRequested();
  });
  void win.loadURL(APP_URL);
  window = win;
  return win;
}

/** Sends once the page has loaded (a notification click may open the window first). */
function sendToRenderer(channel: string, payload: unknown): void {
  const contents = window && !window.isDestroyed() ? window.webContents : null;
  if (!contents) return;
  if (contents.isLoading()) contents.once('did-finish-load', () => contents.send(channel, payload));
  else contents.send(channel, payload);
}

async function serveApp(request: Request): Promise<Response> {
  const file = resolveAppFile(rendererDir, request.url);
  if (!file.ok) return new Response(file.reason, { status: file.status });
  try {
    return new Response(await readFile(file.path), { headers: appResponseHeaders(file.contentType) });
  } catch {
    return new Response('not found', { status: 404 });
  }
}

async function start(): Promise<void> {
  protocol.handle(APP_ORIGIN.scheme, serveApp);
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_contents, permission, callback) => callback(allowPermission(permission)));
  ses.setPermissionCheckHandler((_contents, permission) => allowPermission(permission));
  // Nothing but the app's own files is ever fetched (no remote content, no file://); data: images
  // are what the CSP allows besides.
  ses.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !isAppRequest(details.url) }));
  app.on('web-contents-created', (_event, contents) => lockDown(contents));

  application = new BatonApplication({
    createTray: () => electronTray(assetsDir, () => application?.secondInstance()),
    window: {
      show: () => {
        const win = openWindow();
        if (win.isVisible()) win.focus();
      },
      hide: () => window?.hide(),
      focusSwitch: (switchId) => sendToRenderer(ipcChannel('desktop', 'openSwitch'), switchId),
    },
    notifier: electronNotifier(join(assetsDir, 'icons', 'baton.png')),
    shortcuts: electronShortcuts,
    app: {
      quit: () => {
        quitting = true;
        app.quit();
      },
    },
    bus: gdbusSessionBus(),
    ipc: { handle: (channel, listener) => ipcMain.handle(channel, (event, arg) => listener(event.senderFrame, arg)) },
    renderer: () => ({ send: sendToRenderer }),
    connect: connectSession,
    timers: realTimers,
    clock: Date.now,
    panel: () => (nativeTheme.shouldUseDarkColors ? 'dark' : 'light'),
    env: process.env,
    socketPath,
    startedInBackground: process.argv.includes('--background'),
    log: (line) => console.log(`baton-tray: ${line}`),
  });
  nativeTheme.on('updated', () => application?.panelChanged());
  await application.start();
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => application?.secondInstance());
  // A tray app lives on with no window open; quitting goes through the tray or the window.
  app.on('window-all-closed', () => {});
  app.on('before-quit', () => {
    quitting = true;
  });
  app.whenReady().then(start, (err: unknown) => {
    console.error(`baton-tray: cannot start: ${(err as Error).message}`);
    app.exit(1);
  });
}
