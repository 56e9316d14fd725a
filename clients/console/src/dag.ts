// A pipeline's stages drawn as a DAG: a stage's column is the length of the longest chain of
// dependencies before it, its row its place in that column; an edge runs from each dependency to its
// dependent. Each stage box carries its status (data-status) and its colour.

import { s } from "./dom";
import type { StageStatus } from "./model";

export interface DagStage {
  name: string;
  type: string;
  depends_on: number[];
  status?: StageStatus;
  detail?: string;
}

const W = 172;
const H = 46;
const GAP_X = 50;
const GAP_Y = 18;

export function columns(stages: DagStage[]): number[] {
  const column: number[] = stages.map(() => -1);
  const depth = (i: number, seen: Set<number>): number => {
    const known = column[i] ?? -1;
    if (known >= 0) return known;
    if (seen.has(i)) return 0; // a cycle cannot be stored; never loop on one anyway
    seen.add(i);
    const deps = stages[i]?.depends_on ?? [];
    const d = deps.length === 0 ? 0 : 1 + Math.max(...deps.map((j) => depth(j, seen)));
    column[i] = d;
    return d;
  };
  stages.forEach((_, i) => depth(i, new Set()));
  return column;
}

export function drawDag(stages: DagStage[], testid: string): SVGElement {
  const column = columns(stages);
  const rows = new Map<number, number>();
  const place = stages.map((_, i) => {
    const c = column[i] ?? 0;
    const r = rows.get(c) ?? 0;
    rows.set(c, r + 1);
    return { x: 10 + c * (W + GAP_X), y: 10 + r * (H + GAP_Y) };
  });
  const width = 20 + (Math.max(0, ...column) + 1) * (W + GAP_X) - GAP_X;
  const height = 20 + Math.max(1, ...rows.values()) * (H + GAP_Y) - GAP_Y;
  const svg = s("svg", {
    class: "dag",
    "data-testid": testid,
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-label": "the pipeline's stages and their dependencies",
  });
  svg.append(
    s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" },
      s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrow" }))),
  );
  stages.forEach((stage, i) => {
    const to = place[i];
    for (const j of stage.depends_on) {
      const from = place[j];
      if (!from || !to) continue;
      const x1 = from.x + W, y1 = from.y + H / 2, x2 = to.x, y2 = to.y + H / 2;
      const mid = (x1 + x2) / 2;
      svg.append(s("path", { class: "edge", d: `M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}`, "marker-end": "url(#arrow)" }));
    }
  });
  stages.forEach((stage, i) => {
    const at = place[i];
    if (!at) return;
    const status = stage.status ?? "defined";
    svg.append(
      s("g", { class: `stage ${status}`, "data-stage": stage.name, "data-status": status, transform: `translate(${at.x},${at.y})` },
        s("title", {}, `${stage.name} (${stage.type}): ${status}${stage.detail ? ` — ${stage.detail}` : ""}`),
        s("rect", { width: W, height: H, rx: 8 }),
        s("text", { x: 10, y: 19, class: "name" }, clip(stage.name, 21)),
        s("text", { x: 10, y: 36, class: "sub" }, stage.status ? `${stage.status}${stage.detail ? ` · ${stage.detail}` : ""}` : stage.type),
      ),
    );
  });
  return svg;
}

function clip(text: string, n: number): string {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}
