/**
 * The charts of an orchestration, drawn with chart.js (served by the dashboard from the installed
 * package and loaded as the global `Chart`): jobs running and jobs ended over time, from each job's
 * attempts and end, and a histogram of the durations of ended jobs. Job events from the SSE stream
 * update the timings, so the charts grow while the page is open.
 */
import type * as ChartJs from 'chart.js';

/** The global chart.js build (`/assets/chart.js`, a classic script loaded before this module). */
function chartJs(): typeof ChartJs.Chart {
  return (window as unknown as { Chart: typeof ChartJs.Chart }).Chart;
}

/** A job's timing: its attempts' [start, end] (end null while running) and its end, in ms since the epoch. */
export interface JobTiming {
  attempts: [number, number | null][];
  startedAt: number | null;
  finishedAt: number | null;
}

/** One point of the timeline: at `x` (ms), `running` attempts in flight and `ended` jobs so far. */
export interface TimelinePoint {
  x: number;
  running: number;
  ended: number;
}

/** Points the timeline keeps at most; more events are grouped into this many equal time buckets. */
const MAX_POINTS = 300;
/** Bins the histogram has at most. */
const MAX_BINS = 30;

/** The timeline: one point per distinct event time (attempt start or end, job end), grouped beyond MAX_POINTS. */
export function timeline(jobs: Iterable<JobTiming>): TimelinePoint[] {
  const deltas = new Map<number, { running: number; ended: number }>();
  const add = (at: number, running: number, ended: number) => {
    const delta = deltas.get(at) ?? { running: 0, ended: 0 };
    delta.running += running;
    delta.ended += ended;
    deltas.set(at, delta);
  };
  for (const job of jobs) {
    for (const [start, end] of job.attempts) {
      add(start, 1, 0);
      if (end !== null) add(end, -1, 0);
    }
    if (job.finishedAt !== null) add(job.finishedAt, 0, 1);
  }
  const points: TimelinePoint[] = [];
  let running = 0;
  let ended = 0;
  for (const at of [...deltas.keys()].sort((a, b) => a - b)) {
    const delta = deltas.get(at) ?? { running: 0, ended: 0 };
    running += delta.running;
    ended += delta.ended;
    points.push({ x: at, running, ended });
  }
  if (points.length <= MAX_POINTS) return points;
  // Grouped: the state at the end of each bucket that has events.
  const first = points[0]?.x ?? 0;
  const span = (points[points.length - 1]?.x ?? first) - first || 1;
  const buckets = new Map<number, TimelinePoint>();
  for (const point of points) {
    const bucket = Math.min(MAX_POINTS - 1, Math.floor(((point.x - first) / span) * MAX_POINTS));
    buckets.set(bucket, point);
  }
  return [...buckets.values()];
}

/** A histogram bin: durations in [from, to) ms (the last bin includes `to`), and how many. */
export interface Bin {
  from: number;
  to: number;
  count: number;
}

/** The durations of ended jobs (end minus first start), in ms. */
export function durations(jobs: Iterable<JobTiming>): number[] {
  const values: number[] = [];
  for (const job of jobs) {
    if (job.finishedAt !== null && job.startedAt !== null)
      values.push(Math.max(0, job.finishedAt - job.startedAt));
  }
  return values;
}

/** Equal-width bins over the durations: Sturges' rule (⌈log2 n⌉ + 1), at most MAX_BINS; none without values. */
export function histogram(values: readonly number[]): Bin[] {
  if (values.length === 0) return [];
  // A loop, not Math.min(...values): tens of thousands of arguments can overflow the stack.
  let min = Infinity;
  let max = -Infinity;
  for (const value of values) {
    min = Math.min(min, value);
    max = Math.max(max, value);
  }
  const count = max === min ? 1 : Math.min(MAX_BINS, Math.ceil(Math.log2(values.length)) + 1);
  const width = (max - min) / count || 1;
  const bins: Bin[] = Array.from({ length: count }, (_, i) => ({
    from: min + i * width,
    to: i === count - 1 ? max : min + (i + 1) * width,
    count: 0,
  }));
  for (const value of values) {
    const bin = bins[Math.min(count - 1, Math.floor((value - min) / width))];
    if (bin) bin.count++;
  }
  return bins;
}

/** A duration as text: ms under a second, then s, then min. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return String(Math.round(ms)) + ' ms';
  if (ms < 60_000) return (ms / 1000).toFixed(ms < 10_000 ? 1 : 0) + ' s';
  return (ms / 60_000).toFixed(1) + ' min';
}

const clock = (ms: number): string => new Date(ms).toLocaleTimeString();

/** The two charts of the open orchestration. Redraws at most every 250 ms. */
export class JobCharts {
  private readonly timelineChart: ChartJs.Chart<'line', TimelinePoint[]>;
  private readonly histogramChart: ChartJs.Chart<'bar', number[], string>;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    timelineCanvas: HTMLCanvasElement,
    histogramCanvas: HTMLCanvasElement,
    private readonly jobs: () => Iterable<JobTiming>,
  ) {
    const Chart = chartJs();
    this.timelineChart = new Chart(timelineCanvas, {
      type: 'line',
      data: {
        datasets: [
          {
            label: 'running',
            data: [],
            parsing: { xAxisKey: 'x', yAxisKey: 'running' },
            borderColor: '#54aeff',
            backgroundColor: '#54aeff33',
            stepped: true,
            fill: true,
            pointRadius: 0,
          },
          {
            label: 'ended',
            data: [],
            parsing: { xAxisKey: 'x', yAxisKey: 'ended' },
            borderColor: '#2da44e',
            stepped: true,
            pointRadius: 0,
          },
        ],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false },
        scales: {
          x: { type: 'linear', ticks: { callback: (value) => clock(Number(value)), maxTicksLimit: 6 } },
          y: { beginAtZero: true, ticks: { precision: 0 } },
        },
        plugins: {
          tooltip: { callbacks: { title: (items) => clock(items[0]?.parsed.x ?? 0) } },
        },
      },
    });
    this.histogramChart = new Chart(histogramCanvas, {
      type: 'bar',
      data: { labels: [], datasets: [{ label: 'jobs', data: [], backgroundColor: '#8250df' }] },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { display: false } },
      },
    });
  }

  /** Redraws soon (changes within 250 ms draw once). */
  update(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.render();
    }, 250);
  }

  /** Redraws now, from the current timings. */
  render(): void {
    const jobs = [...this.jobs()];
    const points = timeline(jobs);
    const bins = histogram(durations(jobs));
    const [running, ended] = this.timelineChart.data.datasets;
    if (running) running.data = points;
    if (ended) ended.data = points;
    // No time axis before anything ran (it would read the epoch).
    const x = this.timelineChart.options.scales?.x;
    if (x?.ticks) x.ticks.display = points.length > 0;
    this.timelineChart.update();
    this.histogramChart.data.labels = bins.map(
      (bin) => formatDuration(bin.from) + '–' + formatDuration(bin.to),
    );
    const [counts] = this.histogramChart.data.datasets;
    if (counts) counts.data = bins.map((bin) => bin.count);
    this.histogramChart.update();
    this.timelineChart.canvas.dataset.points = String(points.length);
    this.histogramChart.canvas.dataset.bins = String(bins.length);
  }

  destroy(): void {
    clearTimeout(this.timer);
    this.timelineChart.destroy();
    this.histogramChart.destroy();
  }
}
