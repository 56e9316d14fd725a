// Small SVG bar charts: one row per label, bars scaled to the largest value, the value written beside.

import { h, s } from "./dom";

export interface Bar {
  label: string;
  value: number;
  /** A second, lighter bar behind the first (e.g. p95 behind p50). */
  behind?: number;
  /** A part of the value drawn over it in red (e.g. the errors among invocations). */
  over?: number;
  class?: string;
}

export function barChart(title: string, bars: Bar[], unit: string, testid: string): HTMLElement {
  const rowH = 22;
  const labelW = 170;
  const barW = 260;
  const max = Math.max(1e-9, ...bars.map((b) => Math.max(b.value, b.behind ?? 0)));
  const svg = s("svg", { class: "chart", width: labelW + barW + 130, height: Math.max(1, bars.length) * rowH + 6, role: "img", "aria-label": title });
  bars.forEach((b, i) => {
    const y = 3 + i * rowH;
    svg.append(s("text", { x: labelW - 8, y: y + 14, "text-anchor": "end", class: "label" }, b.label));
    if (b.behind !== undefined) {
      svg.append(s("rect", { x: labelW, y: y + 2, width: (b.behind / max) * barW, height: rowH - 6, class: "bar behind" }));
    }
    svg.append(s("rect", { x: labelW, y: y + 2, width: Math.max(1, (b.value / max) * barW), height: rowH - 6, class: `bar ${b.class ?? ""}` }));
    if (b.over) {
      svg.append(s("rect", { x: labelW, y: y + 2, width: Math.max(1, (b.over / max) * barW), height: rowH - 6, class: "bar over" }));
    }
    const extra = b.behind !== undefined ? ` / ${fmt(b.behind)}` : b.over ? ` (${fmt(b.over)} errors)` : "";
    const shown = `${fmt(b.value)}${extra} ${unit}`;
    svg.append(s("text", { x: labelW + barW + 6, y: y + 14, class: "value" }, shown));
  });
  return h("figure", { class: "chart", "data-testid": testid }, h("figcaption", {}, title), bars.length ? svg : h("p", { class: "muted" }, "nothing recorded in this window"));
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}
