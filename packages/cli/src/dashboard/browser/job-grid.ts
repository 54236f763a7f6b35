/**
 * The grid of an orchestration's jobs: one cell per job on a canvas, coloured by its state, cells
 * shrinking so that 10,000 jobs fit; a legend with the count per state; hovering a cell names its index
 * and state, clicking it calls `onSelect`. The cell states are kept in `states` (the model the canvas
 * draws), which tests read through `cellOf()`.
 */

/** What a cell shows: a job's status, with dead-lettered failures apart. */
export const CELL_STATES = [
  'Pending',
  'InProgress',
  'Completed',
  'Errored',
  'DeadLettered',
  'Cancelled',
] as const;
export type CellState = (typeof CELL_STATES)[number];

/** The colour of each state (shared with the legend and the charts). */
export const PALETTE: Record<CellState, string> = {
  Pending: '#d0d7de',
  InProgress: '#54aeff',
  Completed: '#2da44e',
  Errored: '#fb8f44',
  DeadLettered: '#cf222e',
  Cancelled: '#8250df',
};

const LABELS: Record<CellState, string> = {
  Pending: 'Pending',
  InProgress: 'In progress',
  Completed: 'Completed',
  Errored: 'Errored',
  DeadLettered: 'Dead-lettered',
  Cancelled: 'Cancelled',
};

/** The cell state of a job status. */
export function cellState(status: string, deadLettered: boolean): CellState {
  if (status === 'Errored' && deadLettered) return 'DeadLettered';
  return (CELL_STATES as readonly string[]).includes(status) ? (status as CellState) : 'Pending';
}

/** Largest and smallest cell side in CSS pixels, and the height the grid tries to stay within. */
const MAX_CELL = 24;
const MIN_CELL = 2;
const MAX_HEIGHT = 420;

/** A cell's place on the canvas, in CSS pixels. */
export interface CellBox {
  x: number;
  y: number;
  size: number;
}

export class JobGrid {
  /** State index (into CELL_STATES) per job index. */
  private states = new Uint8Array(0);
  private ids: string[] = [];
  private columns = 1;
  private cell = MAX_CELL;
  private drawing = 0;
  private hovered: number | null = null;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly legend: HTMLElement,
    private readonly tooltip: HTMLElement,
    private readonly onSelect: (index: number, jobId: string) => void,
  ) {
    canvas.addEventListener('mousemove', (event) => this.hover(event));
    canvas.addEventListener('mouseleave', () => this.hover(null));
    canvas.addEventListener('click', (event) => {
      const index = this.indexAt(event);
      const id = index === null ? undefined : this.ids[index];
      if (index !== null && id !== undefined) this.onSelect(index, id);
    });
    new ResizeObserver(() => this.schedule()).observe(canvas.parentElement ?? canvas);
  }

  /** Starts over with `total` jobs, all Pending until set. */
  reset(total: number): void {
    this.states = new Uint8Array(total);
    this.ids = new Array<string>(total).fill('');
    this.hovered = null;
    this.schedule();
  }

  /** Sets one job's cell. */
  set(index: number, id: string, state: CellState): void {
    if (index < 0 || index >= this.states.length) return;
    this.states[index] = CELL_STATES.indexOf(state);
    this.ids[index] = id;
    this.schedule();
  }

  /** The state and place of a job's cell (for tests and the tooltip). */
  cellOf(index: number): { state: CellState; box: CellBox } | null {
    const code = this.states[index];
    if (code === undefined) return null;
    return { state: CELL_STATES[code] ?? 'Pending', box: this.boxOf(index) };
  }

  /** How many cells the grid has. */
  get size(): number {
    return this.states.length;
  }

  /** Redraws on the next frame (many changes in one frame draw once). */
  private schedule(): void {
    if (this.drawing !== 0) return;
    this.drawing = requestAnimationFrame(() => {
      this.drawing = 0;
      this.draw();
    });
  }

  private boxOf(index: number): CellBox {
    return {
      x: (index % this.columns) * this.cell,
      y: Math.floor(index / this.columns) * this.cell,
      size: this.cell,
    };
  }

  /** The cell side: the largest that keeps the grid within MAX_HEIGHT at this width. */
  private layout(width: number): void {
    const total = Math.max(this.states.length, 1);
    let cell = MAX_CELL;
    while (cell > MIN_CELL && Math.ceil(total / Math.max(1, Math.floor(width / cell))) * cell > MAX_HEIGHT)
      cell--;
    this.cell = cell;
    this.columns = Math.max(1, Math.floor(width / cell));
  }

  /** Draws every cell and refreshes the legend's counts and the data attributes tests read. */
  draw(): void {
    const width = Math.max(this.canvas.parentElement?.clientWidth ?? 600, 100);
    this.layout(width);
    const rows = Math.max(1, Math.ceil(this.states.length / this.columns));
    const ratio = window.devicePixelRatio || 1;
    const height = rows * this.cell;
    this.canvas.width = Math.round(this.columns * this.cell * ratio);
    this.canvas.height = Math.round(height * ratio);
    this.canvas.style.width = String(this.columns * this.cell) + 'px';
    this.canvas.style.height = String(height) + 'px';
    const context = this.canvas.getContext('2d');
    if (!context) return;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, this.columns * this.cell, height);
    const gap = this.cell >= 6 ? 1 : 0;
    const counts = new Array<number>(CELL_STATES.length).fill(0);
    // One fill style per state: far fewer style switches than one per cell.
    CELL_STATES.forEach((state, code) => {
      context.fillStyle = PALETTE[state];
      for (let index = 0; index < this.states.length; index++) {
        if (this.states[index] !== code) continue;
        counts[code] = (counts[code] ?? 0) + 1;
        const box = this.boxOf(index);
        context.fillRect(box.x, box.y, box.size - gap, box.size - gap);
      }
    });
    if (this.hovered !== null && this.hovered < this.states.length) {
      const box = this.boxOf(this.hovered);
      context.strokeStyle = '#1f2328';
      context.lineWidth = 1;
      context.strokeRect(box.x + 0.5, box.y + 0.5, box.size - gap - 1, box.size - gap - 1);
    }
    this.canvas.dataset.cells = String(this.states.length);
    this.canvas.dataset.cellSize = String(this.cell);
    this.renderLegend(counts);
  }

  private renderLegend(counts: number[]): void {
    this.legend.replaceChildren(
      ...CELL_STATES.map((state, code) => {
        const swatch = document.createElement('span');
        swatch.className = 'swatch';
        swatch.style.background = PALETTE[state];
        const count = document.createElement('b');
        count.textContent = String(counts[code] ?? 0);
        const item = document.createElement('li');
        item.dataset.state = state;
        item.dataset.colour = PALETTE[state];
        item.dataset.count = String(counts[code] ?? 0);
        item.append(swatch, LABELS[state] + ' ', count);
        return item;
      }),
    );
  }

  private indexAt(event: MouseEvent): number | null {
    const rect = this.canvas.getBoundingClientRect();
    const x = event.clientX - rect.left;
    const y = event.clientY - rect.top;
    if (x < 0 || y < 0 || x >= this.columns * this.cell) return null;
    const index = Math.floor(y / this.cell) * this.columns + Math.floor(x / this.cell);
    return index < this.states.length ? index : null;
  }

  private hover(event: MouseEvent | null): void {
    const index = event ? this.indexAt(event) : null;
    if (index !== this.hovered) {
      this.hovered = index;
      this.schedule();
    }
    const cell = index === null ? null : this.cellOf(index);
    if (!event || index === null || !cell) {
      this.tooltip.hidden = true;
      return;
    }
    this.tooltip.hidden = false;
    this.tooltip.textContent = '#' + String(index) + ' · ' + LABELS[cell.state];
    this.tooltip.dataset.index = String(index);
    this.tooltip.style.left = String(cell.box.x + cell.box.size + 4) + 'px';
    this.tooltip.style.top = String(cell.box.y) + 'px';
  }
}
