// Debian's Chromium for playwright-core (test/e2e/setup.sh installs it). When it is missing the
// suites skip and print why; under CI=true the labs helper turns that skip into a failure.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const CANDIDATES = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'];

export function chromiumPath(): string | null {
  const env = process.env.BATON_CHROMIUM;
  if (env) return existsSync(env) ? env : null;
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}

/** Why the browser suites cannot run here, or null when they can. */
export function chromiumBlocker(): string | null {
  if (chromiumPath() !== null) return null;
  return `no Chromium at ${process.env.BATON_CHROMIUM ?? CANDIDATES.join(' or ')} (run test/e2e/setup.sh: apt-get install -y chromium)`;
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error(chromiumBlocker()!);
  return chromium.launch({ executablePath, args: ['--disable-gpu', '--font-render-hinting=none'] });
}
