#!/usr/bin/env node
// Draws Baton's icons as PNGs (no image tools needed): the tray icon in its three states (idle,
// switching, error), each for a light and a dark panel, at 1x and 2x, and the app icon at the
// sizes the .desktop file and the packages want. Run: node scripts/make-icons.mjs (the output is
// committed under assets/icons/).
import { mkdirSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
function png(size, rgba) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA
  const raw = Buffer.alloc((size * 4 + 1) * size);
  for (let y = 0; y < size; y++) rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

/** Renders shapes (each a coverage function over unit coordinates 0..1) with 4×4 supersampling. */
function render(size, layers) {
  const out = Buffer.alloc(size * size * 4);
  const S = 4;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let [r, g, b, a] = [0, 0, 0, 0];
      for (const { inside, color } of layers) {
        let hits = 0;
        for (let sy = 0; sy < S; sy++) for (let sx = 0; sx < S; sx++) if (inside((x + (sx + 0.5) / S) / size, (y + (sy + 0.5) / S) / size)) hits++;
        const alpha = (hits / (S * S)) * color[3];
        // "over" compositing, straight alpha
        const outA = alpha + a * (1 - alpha);
        if (outA > 0) {
          r = (color[0] * alpha + r * a * (1 - alpha)) / outA;
          g = (color[1] * alpha + g * a * (1 - alpha)) / outA;
          b = (color[2] * alpha + b * a * (1 - alpha)) / outA;
        }
        a = outA;
      }
      out.set([Math.round(r), Math.round(g), Math.round(b), Math.round(a * 255)], (y * size + x) * 4);
    }
  }
  return out;
}

const circle = (cx, cy, radius) => (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2;
/** A bar from (x1,y1) to (x2,y2) with round ends: the baton. */
const bar = (x1, y1, x2, y2, half) => (x, y) => {
  const [dx, dy] = [x2 - x1, y2 - y1];
  const t = Math.max(0, Math.min(1, ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy)));
  return (x - (x1 + t * dx)) ** 2 + (y - (y1 + t * dy)) ** 2 <= half ** 2;
};
const roundedBox = (x0, y0, x1, y1, radius) => (x, y) => {
  const cx = Math.max(x0 + radius, Math.min(x1 - radius, x));
  const cy = Math.max(y0 + radius, Math.min(y1 - radius, y));
  return (x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2;
};
const roundedSquare = (margin, radius) => roundedBox(margin, margin, 1 - margin, 1 - margin, radius);
const hollow = (outer, inner) => (x, y) => outer(x, y) && !inner(x, y);
/** Two screens (where the GPU was, where it goes) and the baton passed between them. */
const glyph = (m) => [
  hollow(roundedBox(0.04 + m, 0.5, 0.46 - m, 0.92 - m, 0.06), roundedBox(0.12 + m, 0.58, 0.38 - m, 0.84 - m, 0.02)),
  hollow(roundedBox(0.54 + m, 0.08 + m, 0.96 - m, 0.5, 0.06), roundedBox(0.62 + m, 0.16 + m, 0.88 - m, 0.42, 0.02)),
  bar(0.3, 0.44, 0.7, 0.56, 0.055),
];

const GLYPH = { light: [43, 43, 43, 1], dark: [240, 240, 240, 1] };
const ACCENT = { switching: [240, 160, 32, 1], error: [224, 64, 58, 1] };

function trayLayers(state, panel) {
  const ink = GLYPH[panel];
  const layers = glyph(0).map((inside) => ({ inside, color: ink }));
  if (state !== 'idle') {
    // A badge in the corner: amber while a switch runs, red after a failure or with no helper.
    layers.push({ inside: circle(0.8, 0.8, 0.22), color: panel === 'dark' ? [30, 30, 30, 1] : [255, 255, 255, 1] });
    layers.push({ inside: circle(0.8, 0.8, 0.17), color: ACCENT[state] });
  }
  return layers;
}

const appLayers = [
  { inside: roundedSquare(0.06, 0.18), color: [38, 99, 200, 1] },
  ...glyph(0.0).map((inside) => ({ inside: (x, y) => inside((x - 0.18) / 0.64, (y - 0.18) / 0.64), color: [255, 255, 255, 1] })),
];

const root = new URL('../assets/icons/', import.meta.url);
mkdirSync(new URL('tray/', root), { recursive: true });
mkdirSync(new URL('app/', root), { recursive: true });
for (const state of ['idle', 'switching', 'error']) {
  for (const panel of ['light', 'dark']) {
    writeFileSync(new URL(`tray/baton-${state}-${panel}.png`, root), png(22, render(22, trayLayers(state, panel))));
    writeFileSync(new URL(`tray/baton-${state}-${panel}@2x.png`, root), png(44, render(44, trayLayers(state, panel))));
  }
}
for (const size of [16, 32, 48, 64, 128, 256, 512]) writeFileSync(new URL(`app/${size}x${size}.png`, root), png(size, render(size, appLayers)));
writeFileSync(new URL('baton.png', root), png(256, render(256, appLayers)));
console.log('icons written to assets/icons/');
