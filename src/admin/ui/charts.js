// A stacked bar chart in SVG, built with DOM calls (no markup strings, so a provider or model
// name can never become markup), and the colours the series share with the legend.

const SVG = 'http://www.w3.org/2000/svg';
const PALETTE = ['#2563eb', '#d97706', '#059669', '#db2777', '#7c3aed', '#0891b2', '#65a30d', '#dc2626', '#4b5563'];

export function seriesColour(index) {
  return PALETTE[index % PALETTE.length];
}

function node(name, attributes, parent) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (parent) parent.appendChild(element);
  return element;
}

function niceMax(value) {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

// days: ["2026-12-01", …]; series: [{name, values: [number per day]}]; format(n) for labels.
export function stackedBars({ title, days, series, format }) {
  const width = 640;
  const height = 260;
  const left = 56;
  const bottom = 36;
  const top = 12;
  const plotHeight = height - top - bottom;
  const plotWidth = width - left - 8;
  const totals = days.map((_, d) => series.reduce((sum, s) => sum + (s.values[d] || 0), 0));
  const max = niceMax(Math.max(0, ...totals));

  const svg = node('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': 'chart-title chart-desc',
    class: 'bars', preserveAspectRatio: 'xMidYMid meet' });
  node('title', { id: 'chart-title' }, svg).textContent = title;
  const desc = totals.map((t, d) => `${days[d]}: ${format(t)}`).join('; ');
  node('desc', { id: 'chart-desc' }, svg).textContent = desc || 'no data';

  for (let i = 0; i <= 4; ++i) {
    const y = top + plotHeight - (plotHeight * i) / 4;
    node('line', { x1: left, x2: width - 8, y1: y, y2: y, class: 'grid' }, svg);
    const label = node('text', { x: left - 6, y: y + 4, 'text-anchor': 'end', class: 'axis' }, svg);
    label.textContent = format((max * i) / 4);
  }
  const slot = plotWidth / Math.max(days.length, 1);
  const barWidth = Math.max(2, Math.min(48, slot * 0.7));
  const labelEvery = Math.ceil(days.length / 8);
  days.forEach((day, d) => {
    const x = left + slot * d + (slot - barWidth) / 2;
    let y = top + plotHeight;
    series.forEach((s, index) => {
      const value = s.values[d] || 0;
      if (value <= 0) return;
      const h = (plotHeight * value) / max;
      y -= h;
      const rect = node('rect', { x, y, width: barWidth, height: h, fill: seriesColour(index),
        class: 'bar', 'data-series': s.name, 'data-day': day, 'data-value': value }, svg);
      node('title', {}, rect).textContent = `${s.name}, ${day}: ${format(value)}`;
    });
    if (d % labelEvery === 0) {
      const label = node('text', { x: x + barWidth / 2, y: height - bottom + 16, 'text-anchor': 'middle', class: 'axis' }, svg);
      label.textContent = day.slice(5);
    }
  });
  return svg;
}
