//! The ecommerce plugin: smoke scenarios for shop APIs (`examples/shop-api` is the reference
//! service).
//!
//! What it knows: a price is positive and in minor units, stock is never negative, a SKU is
//! unique; a cart never holds more than the stock; an empty cart cannot be checked out; checkout
//! decrements stock, and an order's total is the sum of its lines, each quantity times unit
//! price; an order moves from `PENDING` through `PAID` to `FULFILLED` on its own; checkout is
//! rate limited. Totals and stock are judged by `check` logic over the responses, not only by
//! fixed numbers.
//!
//! Every checkout names its client (`X-Client-Id`, one per scenario), so the checkout rate limit
//! of one scenario never disturbs another. SKUs start with the `sku-prefix` config (default
//! `SMOKE`): against a long-lived service, give each run its own. Scenarios meant to catch a class
//! of bug carry `fault:<name>`.

use serde_json::{Value, json};
use smoke_plugin::{
    CheckInput, ConfigKind, Info, Plan, PlanError, PlanInput, Plugin, Scenario, Seed, Status, Step, Verdict,
    ids,
};

struct Ecommerce;

const WIDGET_PRICE: i64 = 1250;
const GADGET_PRICE: i64 = 799;

fn sku(name: &str) -> String {
    format!("{{{{config.sku-prefix}}}}-{name}")
}

fn product(name: &str, sku_name: &str, price: i64, stock: i64) -> Value {
    json!({"name": name, "sku": sku(sku_name), "price": price, "stock": stock})
}

fn create_product(body: Value) -> Step {
    Step::post("/api/products").json(body)
}

fn new_cart(var: &str) -> Step {
    Step::post("/api/carts").named("open a cart").expect_status(201).capture(var, "/id")
}

fn add(cart_var: &str, product_var: &str, quantity: i64) -> Step {
    Step::post(&format!("/api/carts/{{{{{cart_var}}}}}/items"))
        .named(&format!("add {quantity} of {{{{{product_var}}}}}"))
        .json(json!({"product_id": format!("{{{{{product_var}}}}}"), "quantity": quantity}))
}

/// Check out the cart in `cart_var` as `client`.
fn checkout(client: &str, cart_var: &str) -> Step {
    Step::post(&format!("/api/carts/{{{{{cart_var}}}}}/checkout"))
        .named("check out")
        .header("x-client-id", client)
}

fn seeds() -> Vec<Seed> {
    vec![
        Seed::new(
            "product.widget",
            create_product(product("Widget", "WIDGET", WIDGET_PRICE, 100))
                .expect_status(201)
                .capture("widget_id", "/id")
                .capture("widget_sku", "/sku"),
        )
        .describe("a product priced 12.50 with 100 in stock"),
        Seed::new(
            "product.gadget",
            create_product(product("Gadget", "GADGET", GADGET_PRICE, 50))
                .expect_status(201)
                .capture("gadget_id", "/id"),
        )
        .describe("a product priced 7.99 with 50 in stock"),
    ]
}

fn products() -> Vec<Scenario> {
    let invalid = |id: &str, what: &str, body: Value| {
        Scenario::validation_error(&format!("ecommerce.products.create.{id}"), "POST /api/products")
            .describe(what)
            .step(create_product(body).expect_status(422).expect_eq("/error", "validation_error"))
    };
    vec![
        Scenario::happy_path("ecommerce.products.create", "POST /api/products")
            .describe("a product is created as sent and reads back")
            .step(
                create_product(product("Sprocket", "SPROCKET", 499, 5))
                    .expect_status(201)
                    .expect_eq("/price", 499)
                    .expect_eq("/stock", 5)
                    .capture("sprocket_id", "/id"),
            )
            .step(
                Step::get("/api/products/{{sprocket_id}}")
                    .named("read it back")
                    .expect_status(200)
                    .expect_eq("/name", "Sprocket"),
            ),
        Scenario::happy_path("ecommerce.products.list", "GET /api/products")
            .describe("products list as a collection holding the seeded ones")
            // It reads what the seeds made (`--read-only` creates none).
            .tag("seeded")
            .step(Step::get("/api/products").expect_status(200).expect_exists("/items/1/id")),
        Scenario::happy_path("ecommerce.products.get", "GET /api/products/{id}")
            .describe("a seeded product reads back with its price in minor units")
            .step(
                Step::get("/api/products/{{widget_id}}")
                    .expect_status(200)
                    .expect_eq("/price", WIDGET_PRICE)
                    .expect_eq("/name", "Widget"),
            ),
        Scenario::not_found("ecommerce.products.get.not-found", "GET /api/products/{id}")
            .describe("an unknown product is a 404, not an empty 200")
            .tag("fault:not-found-returns-200")
            .step(
                Step::get(&format!("/api/products/{}", ids::missing(1)))
                    .expect_status(404)
                    .expect_eq("/error", "not_found"),
            ),
        invalid("negative-price", "a negative price is refused", product("Debt", "NEG", -100, 1))
            .tag("fault:negative-price-accepted"),
        invalid("zero-price", "a price of zero is refused", product("Free", "ZERO", 0, 1))
            .tag("fault:negative-price-accepted"),
        invalid("negative-stock", "negative stock is refused", product("Hole", "HOLE", 100, -1)),
        invalid(
            "missing-name",
            "a product needs a name",
            json!({"sku": sku("NONAME"), "price": 1, "stock": 1}),
        ),
        invalid(
            "fractional-price",
            "a price is a whole number of minor units",
            json!({"name": "Half", "sku": sku("HALF"), "price": 9.5, "stock": 1}),
        ),
        Scenario::business_rule("ecommerce.products.create.duplicate-sku", "POST /api/products")
            .describe("a second product with an existing SKU is a conflict")
            .tag("fault:duplicate-sku-accepted")
            .step(
                create_product(
                    json!({"name": "Widget again", "sku": "{{widget_sku}}", "price": 100, "stock": 1}),
                )
                .expect_status(409)
                .expect_eq("/error", "duplicate_sku"),
            ),
    ]
}

fn carts() -> Vec<Scenario> {
    let missing_cart = ids::missing(2);
    vec![
        Scenario::happy_path("ecommerce.carts.create", "POST /api/carts")
            .describe("a new cart is open and empty")
            .step(new_cart("open_cart").expect_eq("/status", "OPEN").expect_eq("/total", 0)),
        Scenario::happy_path("ecommerce.carts.get", "GET /api/carts/{id}")
            .describe("a cart reads back by id")
            .step(new_cart("read_cart"))
            .step(Step::get("/api/carts/{{read_cart}}").expect_status(200).expect_len("/items", 0)),
        Scenario::not_found("ecommerce.carts.get.not-found", "GET /api/carts/{id}")
            .describe("an unknown cart is a 404")
            .tag("fault:not-found-returns-200")
            .step(Step::get(&format!("/api/carts/{missing_cart}")).expect_status(404)),
        Scenario::happy_path("ecommerce.carts.abandon", "DELETE /api/carts/{id}")
            .describe("an abandoned cart is gone")
            .step(new_cart("gone_cart"))
            .step(Step::delete("/api/carts/{{gone_cart}}").expect_status(204))
            .step(Step::get("/api/carts/{{gone_cart}}").expect_status(404)),
        Scenario::not_found("ecommerce.carts.abandon.not-found", "DELETE /api/carts/{id}")
            .describe("abandoning an unknown cart is a 404")
            .tag("fault:not-found-returns-200")
            .step(Step::delete(&format!("/api/carts/{missing_cart}")).expect_status(404)),
        Scenario::happy_path("ecommerce.carts.items.add", "POST /api/carts/{id}/items")
            .describe("items added to a cart are priced and totalled")
            .step(new_cart("add_cart"))
            .step(add("add_cart", "widget_id", 2).expect_status(200))
            .step(
                add("add_cart", "gadget_id", 1)
                    .expect_status(200)
                    .expect_len("/items", 2)
                    .expect_eq("/total", 2 * WIDGET_PRICE + GADGET_PRICE)
                    .check(json!({"rule": "totals", "lines": "items"})),
            ),
        Scenario::not_found("ecommerce.carts.items.add.not-found", "POST /api/carts/{id}/items")
            .describe("adding to an unknown cart is a 404")
            .tag("fault:not-found-returns-200")
            .step(
                Step::post(&format!("/api/carts/{missing_cart}/items"))
                    .json(json!({"product_id": "{{widget_id}}", "quantity": 1}))
                    .expect_status(404),
            ),
        Scenario::validation_error("ecommerce.carts.items.add.zero-quantity", "POST /api/carts/{id}/items")
            .describe("a quantity of zero is refused")
            .step(new_cart("zero_cart"))
            .step(
                add("zero_cart", "widget_id", 0).expect_status(422).expect_eq("/error", "validation_error"),
            ),
        Scenario::validation_error("ecommerce.carts.items.add.unknown-product", "POST /api/carts/{id}/items")
            .describe("a product that does not exist cannot be added")
            .step(new_cart("ghost_cart"))
            .step(
                Step::post("/api/carts/{{ghost_cart}}/items")
                    .json(json!({"product_id": ids::missing(3), "quantity": 1}))
                    .expect_status(422)
                    .expect_eq("/error", "unknown_product"),
            ),
        Scenario::business_rule("ecommerce.carts.items.add.over-stock", "POST /api/carts/{id}/items")
            .describe("a cart cannot hold more than the stock")
            .step(new_cart("greedy_cart"))
            .step(
                add("greedy_cart", "gadget_id", 51)
                    .expect_status(409)
                    .expect_eq("/error", "insufficient_stock"),
            ),
        Scenario::happy_path("ecommerce.carts.items.remove", "DELETE /api/carts/{id}/items/{product_id}")
            .describe("an item removed from a cart is gone and the total follows")
            .step(new_cart("remove_cart"))
            .step(add("remove_cart", "widget_id", 1).expect_status(200))
            .step(
                Step::delete("/api/carts/{{remove_cart}}/items/{{widget_id}}")
                    .expect_status(200)
                    .expect_len("/items", 0)
                    .expect_eq("/total", 0),
            ),
        Scenario::not_found(
            "ecommerce.carts.items.remove.not-found",
            "DELETE /api/carts/{id}/items/{product_id}",
        )
        .describe("removing a product that is not in the cart is a 404")
        .step(new_cart("absent_cart"))
        .step(Step::delete("/api/carts/{{absent_cart}}/items/{{widget_id}}").expect_status(404)),
    ]
}

fn checkouts() -> Vec<Scenario> {
    let endpoint = "POST /api/carts/{id}/checkout";
    vec![
        Scenario::happy_path("ecommerce.checkout.total", endpoint)
            .describe("an order's total is the sum of its lines, each quantity times unit price")
            .tag("fault:total-miscalculated")
            .step(new_cart("total_cart"))
            .step(add("total_cart", "widget_id", 3).expect_status(200))
            .step(add("total_cart", "gadget_id", 2).expect_status(200))
            .step(
                checkout("total", "total_cart")
                    .expect_status(201)
                    .expect_eq("/status", "PENDING")
                    .expect_len("/lines", 2)
                    .expect_eq("/total", 3 * WIDGET_PRICE + 2 * GADGET_PRICE)
                    .check(json!({"rule": "totals", "lines": "lines"}))
                    .capture("total_order_id", "/id"),
            ),
        Scenario::workflow("ecommerce.checkout.stock", endpoint)
            .describe("checkout takes the ordered quantity out of stock")
            .tag("fault:stock-not-decremented")
            .step(
                create_product(product("Stocked", "STOCKED", 300, 10))
                    .named("create a product with 10 in stock")
                    .expect_status(201)
                    .capture("stocked_id", "/id")
                    .capture("stock_before", "/stock"),
            )
            .step(new_cart("stock_cart"))
            .step(add("stock_cart", "stocked_id", 3).expect_status(200))
            .step(checkout("stock", "stock_cart").expect_status(201))
            .step(
                Step::get("/api/products/{{stocked_id}}")
                    .named("read the stock after checkout")
                    .expect_status(200)
                    .check(json!({"rule": "stock", "before": "stock_before", "ordered": 3})),
            ),
        Scenario::workflow("ecommerce.checkout.fulfilment", endpoint)
            .describe("an order moves from PENDING through PAID to FULFILLED on its own")
            .tag("fault:order-stuck-pending")
            .step(new_cart("ship_cart"))
            .step(add("ship_cart", "widget_id", 1).expect_status(200))
            .step(
                checkout("fulfilment", "ship_cart")
                    .expect_status(201)
                    .expect_eq("/status", "PENDING")
                    .capture("ship_order_id", "/id"),
            )
            .step(
                Step::get("/api/orders/{{ship_order_id}}")
                    .named("wait for FULFILLED")
                    .expect_status(200)
                    .expect_eq("/status", "FULFILLED")
                    .poll(50, 3_000),
            ),
        Scenario::business_rule("ecommerce.checkout.empty-cart", endpoint)
            .describe("an empty cart cannot be checked out")
            .tag("fault:checkout-ignores-empty-cart")
            .step(new_cart("empty_cart"))
            .step(checkout("empty", "empty_cart").expect_status(422).expect_eq("/error", "empty_cart")),
        Scenario::business_rule("ecommerce.checkout.twice", endpoint)
            .describe("a cart becomes one order: checking it out again is a conflict")
            .step(new_cart("twice_cart"))
            .step(add("twice_cart", "widget_id", 1).expect_status(200))
            .step(checkout("twice", "twice_cart").expect_status(201))
            .step(
                checkout("twice", "twice_cart")
                    .named("check out again")
                    .expect_status(409)
                    .expect_eq("/error", "already_checked_out"),
            ),
        Scenario::not_found("ecommerce.checkout.not-found", endpoint)
            .describe("checking out an unknown cart is a 404")
            .tag("fault:not-found-returns-200")
            .step(
                Step::post(&format!("/api/carts/{}/checkout", ids::missing(4)))
                    .header("x-client-id", "checkout-not-found")
                    .expect_status(404),
            ),
        Scenario::load("ecommerce.checkout.rate-limit", endpoint)
            .describe("30 rapid checkouts from one client: one order, then conflicts, then 429s; none 5xx")
            .tag("fault:checkout-rate-limit-off")
            .step(new_cart("burst_cart"))
            .step(add("burst_cart", "widget_id", 1).expect_status(200))
            .step(
                checkout("burst", "burst_cart")
                    .named("30 checkouts, 4 at a time")
                    .expect_status(201)
                    .expect_status(409)
                    .expect_status(429)
                    .burst(30, 4)
                    .mix(Status::Code(201), Some(1), Some(1))
                    .mix(Status::Code(429), Some(1), None)
                    .mix(Status::Class(5), None, Some(0)),
            )
            .step(
                checkout("burst", "burst_cart")
                    .named("told when to retry")
                    .expect_status(429)
                    .expect_eq("/error", "rate_limited")
                    .expect_header("retry-after", ""),
            ),
    ]
}

fn orders() -> Vec<Scenario> {
    vec![
        Scenario::happy_path("ecommerce.orders.get", "GET /api/orders/{id}")
            .describe("an order reads back with its lines")
            .depends_on("ecommerce.checkout.total")
            .step(
                Step::get("/api/orders/{{total_order_id}}")
                    .expect_status(200)
                    .expect_len("/lines", 2)
                    .check(json!({"rule": "totals", "lines": "lines"})),
            ),
        Scenario::not_found("ecommerce.orders.get.not-found", "GET /api/orders/{id}")
            .describe("an unknown order is a 404")
            .tag("fault:not-found-returns-200")
            .step(Step::get(&format!("/api/orders/{}", ids::missing(5))).expect_status(404)),
    ]
}

impl Plugin for Ecommerce {
    fn info() -> Info {
        Info::new("ecommerce", env!("CARGO_PKG_VERSION"), "e-commerce")
            .describe("Shop APIs: products, carts, checkout with stock and totals, asynchronous fulfilment")
            .config_key(
                "sku-prefix",
                ConfigKind::Text,
                false,
                Some("SMOKE"),
                "prefix of every SKU the plan creates; vary it per run against a long-lived service",
            )
    }

    fn plan(input: PlanInput) -> Result<Plan, PlanError> {
        let prefix = input.config("sku-prefix").unwrap_or("SMOKE");
        if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(PlanError::new(format!(
                "sku-prefix must be letters, digits and '-'; got {prefix:?}"
            ))
            .at("config.sku-prefix"));
        }
        let mut plan = Plan::new();
        for seed in seeds() {
            plan = plan.seed(seed);
        }
        Ok(plan
            .scenarios(products())
            .scenarios(carts())
            .scenarios(checkouts())
            .scenarios(orders())
            .endpoint("POST /api/products", true)
            .endpoint("GET /api/products", false)
            .endpoint("GET /api/products/{id}", false)
            .endpoint("POST /api/carts", false)
            .endpoint("GET /api/carts/{id}", false)
            .endpoint("DELETE /api/carts/{id}", false)
            .endpoint("POST /api/carts/{id}/items", true)
            .endpoint("DELETE /api/carts/{id}/items/{product_id}", false)
            .endpoint("POST /api/carts/{id}/checkout", false)
            .endpoint("GET /api/orders/{id}", false))
    }

    fn check(input: CheckInput) -> Verdict {
        let (rule, argument) = match input.rule() {
            Ok(r) => r,
            Err(verdict) => return verdict,
        };
        let Some(body) = input.response_json() else {
            return Verdict::fail("the response is not JSON");
        };
        match rule.as_str() {
            "totals" => totals(&body, argument["lines"].as_str().unwrap_or("lines")),
            "stock" => {
                let before = argument["before"].as_str().and_then(|v| input.variable(v));
                stock(&body, before.as_ref().and_then(Value::as_i64), argument["ordered"].as_i64())
            }
            other => Verdict::fail(format!("unknown check rule {other:?}")),
        }
    }
}

/// Each line is quantity times unit price, and the total is the sum of the lines.
fn totals(body: &Value, lines_field: &str) -> Verdict {
    let Some(lines) = body[lines_field].as_array() else {
        return Verdict::fail(format!("the response has no {lines_field:?} list"));
    };
    let mut sum = 0i64;
    for (i, line) in lines.iter().enumerate() {
        let (Some(q), Some(p), Some(t)) =
            (line["quantity"].as_i64(), line["unit_price"].as_i64(), line["line_total"].as_i64())
        else {
            return Verdict::fail(format!(
                "{lines_field}[{i}] lacks an integer quantity, unit_price or line_total"
            ));
        };
        if q.checked_mul(p) != Some(t) {
            return Verdict::fail(format!("{lines_field}[{i}]: {q} x {p} is {}, not {t}", q * p));
        }
        sum += t;
    }
    match body["total"].as_i64() {
        Some(total) if total == sum => {
            Verdict::pass(format!("{} line(s) sum to the total {total}", lines.len()))
        }
        Some(total) => Verdict::fail(format!("the total is {total}, but the lines sum to {sum}")),
        None => Verdict::fail("the response has no integer total"),
    }
}

/// The stock after an order is the stock before minus what was ordered.
fn stock(product: &Value, before: Option<i64>, ordered: Option<i64>) -> Verdict {
    let (Some(before), Some(ordered)) = (before, ordered) else {
        return Verdict::fail(
            "the check needs the stock before (a captured variable) and the ordered quantity",
        );
    };
    match product["stock"].as_i64() {
        Some(now) if now == before - ordered => {
            Verdict::pass(format!("stock went from {before} to {now} after ordering {ordered}"))
        }
        Some(now) => Verdict::fail(format!(
            "stock is {now} after ordering {ordered} of {before}; expected {}",
            before - ordered
        )),
        None => Verdict::fail("the product has no integer stock"),
    }
}

smoke_plugin::export!(Ecommerce);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_are_judged_line_by_line_and_in_sum() {
        let line = |q: i64, p: i64, t: i64| json!({"quantity": q, "unit_price": p, "line_total": t});
        assert!(
            totals(&json!({"lines": [line(3, 1250, 3750), line(2, 799, 1598)], "total": 5348}), "lines").pass
        );
        assert!(
            !totals(&json!({"lines": [line(3, 1250, 3750), line(2, 799, 1598)], "total": 2049}), "lines")
                .pass
        );
        assert!(!totals(&json!({"lines": [line(3, 1250, 1250)], "total": 1250}), "lines").pass);
        assert!(!totals(&json!({"items": []}), "lines").pass);
    }

    #[test]
    fn stock_must_drop_by_the_ordered_quantity() {
        assert!(stock(&json!({"stock": 7}), Some(10), Some(3)).pass);
        assert!(!stock(&json!({"stock": 10}), Some(10), Some(3)).pass);
        assert!(!stock(&json!({"stock": 7}), None, Some(3)).pass);
    }

    #[test]
    fn the_plan_is_deterministic_with_unique_ids() {
        smoke_plugin::testing::assert_deterministic_plan::<Ecommerce>(smoke_plugin::testing::empty_input());
    }
}
