// Run by the socket-activation test under systemd-socket-activate: a daemon (fake service) on the
// listening fd systemd passes. Not a test file itself.
import { startDaemon } from '../../../../app/helper/daemon/daemon.js';
import { takeSystemdListenFd } from '../../../../app/helper/daemon/listen.js';
import { FakeService } from './fake-service.js';
import { testConfig } from './harness.js';

const listenFd = takeSystemdListenFd();
if (listenFd === null) {
  process.stderr.write('not socket-activated\n');
  process.exit(2);
}
const daemon = await startDaemon({ service: new FakeService(), config: testConfig(), socketPath: process.argv[2] ?? '', listenFd, log: (l) => process.stderr.write(`${l}\n`) });
process.stderr.write(`activated env cleared: ${process.env.LISTEN_FDS === undefined}\n`);
process.once('SIGTERM', () => void daemon.close().then(() => process.exit(0)));
