// shop-audit: judges what only logic can in a shop's orders, written in TypeScript.
//
// A status and a JSON pointer cannot say whether an order adds up: this plugin's `check` does
// the arithmetic (each line is quantity times unit price, the total is the sum of the lines,
// the lines are what the cart held) and follows stock through a checkout. Built with
// `smoke-plugin-build plugin.ts -o shop-audit.wasm`; run against examples/shop-api.

import { CheckInput, Info, Plan, Scenario, Step, Verdict, VerdictValue, definePlugin } from 'smoke-plugin';

/** What an order must hold: these products in these quantities, at these unit prices. */
interface OrderRule {
  rule: 'order-totals';
  lines: { product: string; quantity: number; unitPrice: number }[];
}

/** A product's stock after a checkout: what it was, less what was ordered. */
interface StockRule {
  rule: 'stock-after-checkout';
  before: number;
  ordered: number;
}

type Rule = OrderRule | StockRule;

interface OrderLine {
  product_id: string;
  quantity: number;
  unit_price: number;
  line_total: number;
}

const product = (sku: string, price: number, stock: number, capture: string) =>
  Step.post('/api/products')
    .named(`create ${sku}`)
    .json({ name: sku, sku, price, stock })
    .expectStatus(201)
    .capture(capture, '/id');

const add = (productVar: string, quantity: number) =>
  Step.post('/api/carts/{{cart}}/items')
    .named(`add ${quantity}`)
    .json({ product_id: `{{${productVar}}}`, quantity })
    .expectStatus(200);

const cart = () => Step.post('/api/carts').expectStatus(201).capture('cart', '/id');

function plan(): Plan {
  const order: OrderRule = {
    rule: 'order-totals',
    lines: [
      { product: 'first', quantity: 3, unitPrice: 250 },
      { product: 'second', quantity: 2, unitPrice: 1999 },
    ],
  };
  const stock: StockRule = { rule: 'stock-after-checkout', before: 7, ordered: 3 };
  return new Plan()
    .scenario(
      Scenario.businessRule('audit.checkout.totals', 'POST /api/carts/{id}/checkout')
        .describe('an order adds up: each line is quantity times unit price, the total their sum')
        .tag('fault:total-miscalculated')
        .step(product('AUDIT-T1', 250, 20, 'first'))
        .step(product('AUDIT-T2', 1999, 20, 'second'))
        .step(cart())
        .step(add('first', 3))
        .step(add('second', 2))
        .step(Step.post('/api/carts/{{cart}}/checkout').named('checkout').expectStatus(201).check(order)),
    )
    .scenario(
      Scenario.businessRule('audit.checkout.stock', 'POST /api/carts/{id}/checkout')
        .describe('a checkout takes what it sold out of stock')
        .tag('fault:stock-not-decremented')
        .step(product('AUDIT-S1', 500, stock.before, 'item'))
        .step(cart())
        .step(add('item', stock.ordered))
        .step(Step.post('/api/carts/{{cart}}/checkout').named('checkout').expectStatus(201))
        .step(Step.get('/api/products/{{item}}').named('stock after').expectStatus(200).check(stock)),
    );
}

function judgeOrder(rule: OrderRule, input: CheckInput): VerdictValue {
  const order = input.responseJson<{ total: number; lines: OrderLine[] }>();
  if (!order || !Array.isArray(order.lines)) return Verdict.fail('the order has no lines');
  if (order.lines.length !== rule.lines.length) {
    return Verdict.fail(`the order has ${order.lines.length} lines; the cart held ${rule.lines.length}`);
  }
  let sum = 0;
  for (const [i, expected] of rule.lines.entries()) {
    const line = order.lines[i];
    const id = input.variables[expected.product];
    if (line.product_id !== id || line.quantity !== expected.quantity || line.unit_price !== expected.unitPrice) {
      return Verdict.fail(`line ${i + 1} is ${JSON.stringify(line)}; the cart held ${expected.quantity} of ${id} at ${expected.unitPrice}`);
    }
    if (line.line_total !== line.quantity * line.unit_price) {
      return Verdict.fail(`line ${i + 1} totals ${line.line_total}, not ${line.quantity} x ${line.unit_price}`);
    }
    sum += line.line_total;
  }
  if (order.total !== sum) return Verdict.fail(`the order total is ${order.total}; its lines sum to ${sum}`);
  return Verdict.pass(`${order.lines.length} lines sum to ${sum}`);
}

function judgeStock(rule: StockRule, input: CheckInput): VerdictValue {
  const stock = input.responseJson<{ stock: number }>()?.stock;
  const expected = rule.before - rule.ordered;
  return stock === expected
    ? Verdict.pass(`stock went from ${rule.before} to ${expected}`)
    : Verdict.fail(`stock is ${stock} after selling ${rule.ordered} of ${rule.before}; it should be ${expected}`);
}

export const guest = definePlugin({
  info: () => new Info('shop-audit', '0.1.0', 'commerce').describe('the arithmetic of orders and stock, judged'),
  plan,
  check(input) {
    const rule = input.argument<Rule>();
    switch (rule.rule) {
      case 'order-totals':
        return judgeOrder(rule, input);
      case 'stock-after-checkout':
        return judgeStock(rule, input);
      default:
        return Verdict.fail(`unknown rule in ${input.argumentText}`);
    }
  },
});
