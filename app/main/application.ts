// Electron main without Electron: wires the controllers to each other and to their ports (the
// composition root, electron/main.ts, supplies real ones; tests supply fakes).
import type { ClientRequester as Requester } from '../domain/history/entry.js';
import type { DeskSnapshot } from '../protocol/desk.js';
import type { TrayHostReport } from '../protocol/ipc-schema.js';
import { sessionType } from './accelerator.js';
import { HelperConnection, type Backoff, type ConnectSession } from './helper-connection.js';
import { createNotifiers, registerIpcMain, type IpcMainPort, type RendererTarget } from './ipc-main.js';
import { ipcValidators } from './ipc-validators.js';
import { NotificationController } from './notification-controller.js';
import type { AppPort, Clock, GlobalShortcutPort, NotifierPort, SessionBusPort, TimerPort, TrayPort, WindowPort } from './ports.js';
import { CYCLE_TARGET, cycleTarget, ShortcutController } from './shortcut-controller.js';
import { TrayController } from './tray-controller.js';
import { checkTrayHost, windowPolicy } from './tray-host.js';
import type { PanelTheme } from './tray-icons.js';
import type { TrayAction } from './tray-menu.js';

export interface ApplicationPorts {
  /** Called only when a tray host is on the session bus. */
  createTray(): TrayPort;
  window: WindowPort & { hide(): void };
  notifier: NotifierPort;
  shortcuts: GlobalShortcutPort;
  app: AppPort;
  bus: SessionBusPort;
  ipc: IpcMainPort;
  renderer(): RendererTarget | null;
  connect: ConnectSession;
  timers: TimerPort;
  clock: Clock;
  panel(): PanelTheme;
  env: Record<string, string | undefined>;
  socketPath: string;
  /** Started by the autostart entry (--background): stay in the tray when there is one. */
  startedInBackground: boolean;
  backoff?: Backoff;
  log(line: string): void;
}

export class BatonApplication {
  readonly connection: HelperConnection;
  readonly shortcuts: ShortcutController;
  readonly notifications: NotificationController;
  tray: TrayController | null = null;
  trayHost: TrayHostReport = { available: null, advice: null };
  private closeHides = false;
  private readonly notify;

  constructor(private readonly ports: ApplicationPorts) {
    this.connection = new HelperConnection({ socketPath: ports.socketPath, connect: ports.connect, timers: ports.timers, log: ports.log, ...(ports.backoff && { backoff: ports.backoff }) });
    const session = sessionType(ports.env);
    this.shortcuts = new ShortcutController({
      port: ports.shortcuts,
      session,
      viaPortal: session === 'wayland',
      clock: ports.clock,
      trigger: (gpu, target) => void this.shortcutPressed(gpu, target),
    });
    this.notifications = new NotificationController(ports.notifier, ports.window);
    this.notify = createNotifiers(() => ports.renderer());
  }

  async start(): Promise<void> {
    const { ports } = this;
    registerIpcMain({
      port: ports.ipc,
      validators: ipcValidators,
      log: ports.log,
      handlers: {
        desk: {
          snapshot: async () => this.snapshotOrThrow(),
          switchGpu: async ({ gpu, target }) => this.connection.switchGpu(gpu, target, 'tray'),
          historyPage: async (query) => this.connection.history(query),
          connection: async () => this.connection.state,
        },
        desktop: {
          shortcuts: async () => this.shortcuts.report,
          trayHost: async () => this.trayHost,
        },
      },
    });
    this.trayHost = await checkTrayHost(ports.bus, ports.env.XDG_CURRENT_DESKTOP);
    const policy = windowPolicy(this.trayHost, ports.startedInBackground);
    this.closeHides = policy.closeHides;
    if (this.trayHost.available === true) {
      this.tray = new TrayController({ tray: ports.createTray(), socketPath: ports.socketPath, group: 'baton', panel: ports.panel(), onAction: (a) => this.trayAction(a) });
    } else {
      ports.log(`tray: ${this.trayHost.advice}`);
    }
    if (policy.showAtStart) ports.window.show();

    this.connection.onState((state) => {
      this.tray?.setConnection(state);
      this.notify.desk.connectionChanged(state);
    });
    this.connection.onSnapshot((snapshot) => this.deskChanged(snapshot));
    this.connection.onEvent((event) => {
      this.notify.desk.event(event);
      this.notifications.handle(event);
    });
    this.connection.start();
  }

  /** A second launch: show the window (the single-instance lock sent it here). */
  secondInstance(): void {
    this.ports.window.show();
  }

  /** The user closed the window: hide into a working tray, or quit when there is none. */
  windowCloseRequested(): 'hide' | 'quit' {
    if (this.closeHides) {
      this.ports.window.hide();
      return 'hide';
    }
    this.quit();
    return 'quit';
  }

  panelChanged(): void {
    this.tray?.setPanel(this.ports.panel());
  }

  quit(): void {
    this.shortcuts.unbindAll();
    this.connection.stop();
    this.ports.app.quit();
  }

  private snapshotOrThrow(): DeskSnapshot {
    const snapshot = this.connection.snapshot;
    if (snapshot && this.connection.state.kind === 'connected') return snapshot;
    const s = this.connection.state;
    throw new Error(`no desk yet: ${'message' in s ? s.message : s.kind}`);
  }

  private deskChanged(snapshot: DeskSnapshot): void {
    this.tray?.setDesk(snapshot);
    if (this.shortcuts.apply(snapshot.config.shortcuts)) this.notify.desktop.shortcutsChanged(this.shortcuts.report);
  }

  private trayAction(action: TrayAction): void {
    switch (action.type) {
      case 'switch':
        void this.requestSwitch(action.gpu, action.target, 'tray');
        return;
      case 'open-window':
        this.ports.window.show();
        if (action.switchId) this.ports.window.focusSwitch(action.switchId);
        return;
      case 'reconnect':
        this.connection.reconnectNow();
        return;
      case 'quit':
        this.quit();
        return;
    }
  }

  private async shortcutPressed(gpu: string, target: string): Promise<void> {
    if (target !== CYCLE_TARGET) return this.requestSwitch(gpu, target, 'shortcut');
    const desk = this.connection.snapshot?.gpus.find((g) => g.name === gpu);
    const next = desk && cycleTarget(desk);
    if (!next) return this.tell(`Cannot cycle ${gpu}`, desk ? `${gpu} has no other target to cycle to.` : `The helper does not know ${gpu}.`);
    return this.requestSwitch(gpu, next, 'shortcut');
  }

  /** Progress and outcome arrive as events; only a refused request is told here. */
  private async requestSwitch(gpu: string, target: string, requestedBy: Requester): Promise<void> {
    try {
      await this.connection.switchGpu(gpu, target, requestedBy);
    } catch (err) {
      this.tell(`Cannot move ${gpu} to ${target}`, (err as Error).message);
    }
  }

  private tell(title: string, body: string): void {
    this.ports.log(`${title}: ${body}`);
    if (this.ports.notifier.isSupported()) this.ports.notifier.show({ title, body, urgency: 'normal' }, () => this.ports.window.show());
  }
}
