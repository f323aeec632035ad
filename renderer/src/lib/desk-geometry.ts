// The desk picture's geometry: monitors drawn side by side, grouped by the GPU they hang on, each
// sized by its preferred mode's aspect ratio, all the same height (a row of screens on a desk).
// Pure, so the layout is tested without a DOM.

export interface MonitorShape {
  id: string;
  gpu: string;
  /** Preferred mode; unknown monitors are drawn 16:9 and marked. */
  width?: number | null;
  height?: number | null;
}

export interface MonitorRect {
  id: string;
  gpu: string;
  x: number;
  y: number;
  w: number;
  h: number;
  /** The preferred mode was unknown; drawn at 16:9. */
  assumedAspect: boolean;
}

export interface GpuSpan {
  gpu: string;
  x: number;
  w: number;
}

export interface DeskLayout {
  width: number;
  height: number;
  monitors: MonitorRect[];
  gpus: GpuSpan[];
}

export interface LayoutOptions {
  /** Height of every monitor. */
  monitorHeight?: number;
  gap?: number;
  groupGap?: number;
  padding?: number;
  /** Room under the monitors for the GPU's name. */
  labelHeight?: number;
  /** Aspect ratios are clamped into this range so a bogus EDID cannot draw a sliver or a banner. */
  minAspect?: number;
  maxAspect?: number;
}

const DEFAULT_ASPECT = 16 / 9;

export function aspectOf(m: MonitorShape, minAspect = 0.4, maxAspect = 4): { aspect: number; assumed: boolean } {
  const { width, height } = m;
  if (!width || !height || width <= 0 || height <= 0 || !Number.isFinite(width / height)) return { aspect: DEFAULT_ASPECT, assumed: true };
  return { aspect: Math.min(maxAspect, Math.max(minAspect, width / height)), assumed: false };
}

/**
 * Lay out monitors in GPU order (the order of `gpuOrder`, then any other GPU in order of first
 * appearance), monitors keeping their input order within a GPU. A GPU without monitors gets a
 * placeholder span the width of one 16:9 monitor so the picture still shows it.
 */
export function layoutDesk(monitors: readonly MonitorShape[], gpuOrder: readonly string[], options: LayoutOptions = {}): DeskLayout {
  const h = options.monitorHeight ?? 90;
  const gap = options.gap ?? 8;
  const groupGap = options.groupGap ?? 28;
  const pad = options.padding ?? 10;
  const labelH = options.labelHeight ?? 22;
  const order = [...gpuOrder];
  for (const m of monitors) if (!order.includes(m.gpu)) order.push(m.gpu);

  const rects: MonitorRect[] = [];
  const spans: GpuSpan[] = [];
  let x = pad;
  order.forEach((gpu, gi) => {
    if (gi > 0) x += groupGap;
    const start = x;
    const mine = monitors.filter((m) => m.gpu === gpu);
    if (mine.length === 0) {
      x += h * DEFAULT_ASPECT;
    } else {
      mine.forEach((m, mi) => {
        if (mi > 0) x += gap;
        const { aspect, assumed } = aspectOf(m, options.minAspect, options.maxAspect);
        const w = h * aspect;
        rects.push({ id: m.id, gpu, x, y: pad, w, h, assumedAspect: assumed });
        x += w;
      });
    }
    spans.push({ gpu, x: start, w: x - start });
  });
  return { width: x + pad, height: pad + h + labelH + pad, monitors: rects, gpus: spans };
}
