// Regenerates examples/data/sales/*.csv: one file per month of 2026, 400 orders each, from a fixed
// seed so the demo's totals never change. July has one corrupt row on purpose (the demo's failing job).
// Run: node examples/scripts/generate-sales.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'data', 'sales');
mkdirSync(out, { recursive: true });
let seed = 20261123;
const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const regions = ['north', 'south', 'east', 'west'];
const products = ['lamp', 'desk', 'chair', 'shelf', 'rug'];
for (let month = 1; month <= 12; month++) {
  const mm = String(month).padStart(2, '0');
  const rows = ['order_id,date,region,product,quantity,unit_price_cents'];
  for (let i = 1; i <= 400; i++) {
    const day = String(1 + Math.floor(random() * 28)).padStart(2, '0');
    const region = regions[Math.floor(random() * regions.length)];
    const product = products[Math.floor(random() * products.length)];
    const quantity = 1 + Math.floor(random() * 5);
    const price = 1500 + Math.floor(random() * 20000);
    rows.push(
      `2026${mm}-${String(i).padStart(4, '0')},2026-${mm}-${day},${region},${product},${quantity},${price}`,
    );
  }
  if (month === 7) rows[118] = '202607-0118,2026-07-13,east,desk,two,4999';
  writeFileSync(join(out, `2026-${mm}.csv`), rows.join('\n') + '\n');
}
