// Keeps the tray icon and menu equal to buildTrayModel(state), rebuilt on every change, and turns
// menu clicks into actions.
import type { DeskSnapshot } from '../protocol/desk.js';
import type { ConnectionState } from '../protocol/ipc-schema.js';
import type { TrayPort } from './ports.js';
import { trayIconName, type PanelTheme } from './tray-icons.js';
import { buildTrayModel, parseActionId, type TrayAction, type TrayModel } from './tray-menu.js';

export interface TrayControllerOptions {
  tray: TrayPort;
  socketPath: string;
  group: string;
  panel: PanelTheme;
  onAction(action: TrayAction): void;
}

export class TrayController {
  private connection: ConnectionState = { kind: 'connecting', attempt: 0 };
  private desk: DeskSnapshot | null = null;
  private panel: PanelTheme;
  private last: TrayModel | null = null;
  /** helper.group as the helper last said, for the "join the group" line when it refuses us later. */
  private group: string;

  constructor(private readonly options: TrayControllerOptions) {
    this.panel = options.panel;
    this.group = options.group;
    this.render();
  }

  get model(): TrayModel | null {
    return this.last;
  }

  setConnection(state: ConnectionState): void {
    this.connection = state;
    this.render();
  }

  setDesk(desk: DeskSnapshot): void {
    this.desk = desk;
    const helper = desk.config.effective.helper as { group?: unknown } | undefined;
    if (typeof helper?.group === 'string' && helper.group) this.group = helper.group;
    this.render();
  }

  setPanel(panel: PanelTheme): void {
    this.panel = panel;
    this.render();
  }

  private render(): void {
    const model = buildTrayModel({ connection: this.connection, desk: this.desk, socketPath: this.options.socketPath, group: this.group });
    this.last = model;
    this.options.tray.setIcon(trayIconName(model.icon, this.panel));
    this.options.tray.setToolTip(model.tooltip);
    this.options.tray.setMenu(model.items, (id) => {
      const action = parseActionId(id);
      if (action) this.options.onAction(action);
    });
  }
}
