//! shop-api: an example e-commerce API for smoke's ecommerce plugin.
//!
//! Products (name, unique SKU, price in minor units > 0, stock >= 0), carts (add and remove
//! items, never more than the stock), checkout (an empty cart is refused; the order starts
//! `PENDING` and an asynchronous fulfilment moves it to `PAID`, then `FULFILLED`; stock is
//! decremented; the total is the sum of the lines) and order reads. Checkout is rate limited per
//! client (`X-Client-Id`): 10 per minute (`--checkout-limit N`), then 429 with `Retry-After`.
//! Everything lives in memory, so every start is clean.
//!
//! Usage: `shop-api [--port N] [--checkout-limit N] [--list-faults]`; faults from `FAULTS`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use example_support::{
    ApiError, ApiResult, Faults, RateLimiter, client_id, integer, not_found, object, reply, text,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub const FAULTS: &[(&str, &str)] = &[
    ("negative-price-accepted", "a product with a zero or negative price is created"),
    ("duplicate-sku-accepted", "a second product with an existing SKU is created"),
    ("checkout-ignores-empty-cart", "checking out an empty cart creates an empty order"),
    ("stock-not-decremented", "checkout leaves product stock unchanged"),
    ("total-miscalculated", "an order's total adds unit prices, ignoring quantities"),
    ("order-stuck-pending", "fulfilment never runs: orders stay PENDING"),
    ("not-found-returns-200", "unknown products, carts and orders answer 200 with an empty object"),
    ("checkout-rate-limit-off", "checkout is never rate limited"),
];

/// How long fulfilment takes for each of its two moves (PENDING -> PAID -> FULFILLED).
const FULFILMENT_STEP: Duration = Duration::from_millis(150);

struct Product {
    name: String,
    sku: String,
    price: i64,
    stock: i64,
}

#[derive(Default)]
struct Cart {
    /// `(product id, quantity)` in the order first added.
    items: Vec<(String, i64)>,
    order: Option<String>,
}

#[derive(Default)]
struct Shop {
    products: BTreeMap<String, Product>,
    carts: BTreeMap<String, Cart>,
    orders: BTreeMap<String, Value>,
}

struct App {
    shop: Mutex<Shop>,
    faults: Faults,
    checkouts: RateLimiter,
}

impl App {
    fn shop(&self) -> MutexGuard<'_, Shop> {
        example_support::lock(&self.shop)
    }

    /// A 404 for an unknown record, or, with `not-found-returns-200`, the bug it stands for.
    fn missing(&self, what: &str, id: &str) -> ApiResult {
        if self.faults.on("not-found-returns-200") {
            return reply(StatusCode::OK, json!({}));
        }
        Err(not_found(what, id))
    }

    /// The shop, locked, when cart `id` is open; else the answer to give (unknown, or checked out).
    fn open_cart(&self, id: &str) -> Result<MutexGuard<'_, Shop>, Box<ApiResult>> {
        let shop = self.shop();
        match shop.carts.get(id) {
            None => {
                drop(shop);
                Err(Box::new(self.missing("cart", id)))
            }
            Some(cart) if cart.order.is_some() => {
                Err(Box::new(Err(conflict("cart_closed", format!("cart {id} is already checked out")))))
            }
            Some(_) => Ok(shop),
        }
    }
}

type Shared = Arc<App>;

#[tokio::main]
async fn main() {
    let cli = example_support::Cli::parse("shop-api", FAULTS, &[("--checkout-limit", 10)]);
    let limit = cli.option("--checkout-limit");
    let faults = Faults::from_env("shop-api", FAULTS);
    let app = Arc::new(App { shop: Mutex::default(), faults, checkouts: RateLimiter::new(limit) });
    let banner = format!(" (checkout limit {limit}/min per client)");
    example_support::serve("shop-api", cli.port, router(app), &banner).await;
}

fn router(app: Shared) -> Router {
    let api = Router::new()
        .route("/api/products", post(create_product).get(list_products))
        .route("/api/products/{id}", get(get_product))
        .route("/api/carts", post(create_cart))
        .route("/api/carts/{id}", get(get_cart).delete(abandon_cart))
        .route("/api/carts/{id}/items", post(add_item))
        .route("/api/carts/{id}/items/{product_id}", delete(remove_item))
        .route("/api/carts/{id}/checkout", post(checkout))
        .route("/api/orders/{id}", get(get_order));
    example_support::around(api, include_str!("../openapi.json")).with_state(app)
}

fn product_json(id: &str, p: &Product) -> Value {
    json!({"id": id, "name": p.name, "sku": p.sku, "price": p.price, "stock": p.stock})
}

fn conflict(code: &'static str, message: String) -> ApiError {
    ApiError(StatusCode::CONFLICT, code, message)
}

async fn create_product(State(app): State<Shared>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let body = object(&headers, &body)?;
    let name = text(&body, "name")?.to_string();
    let sku = text(&body, "sku")?.to_string();
    let min_price = if app.faults.on("negative-price-accepted") { i64::MIN } else { 1 };
    let price = integer(&body, "price", min_price, 100_000_000)?;
    let stock = integer(&body, "stock", 0, 1_000_000)?;
    let mut shop = app.shop();
    if !app.faults.on("duplicate-sku-accepted")
        && let Some((existing, _)) = shop.products.iter().find(|(_, p)| p.sku == sku)
    {
        return Err(conflict("duplicate_sku", format!("SKU {sku:?} belongs to product {existing}")));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let product = Product { name, sku, price, stock };
    let out = product_json(&id, &product);
    shop.products.insert(id, product);
    reply(StatusCode::CREATED, out)
}

async fn list_products(State(app): State<Shared>) -> ApiResult {
    let shop = app.shop();
    let items: Vec<Value> = shop.products.iter().map(|(id, p)| product_json(id, p)).collect();
    reply(StatusCode::OK, json!({"count": items.len(), "items": items}))
}

async fn get_product(State(app): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let found = app.shop().products.get(&id).map(|p| product_json(&id, p));
    match found {
        Some(p) => reply(StatusCode::OK, p),
        None => app.missing("product", &id),
    }
}

/// A cart with its lines priced at today's prices.
fn cart_json(shop: &Shop, id: &str, cart: &Cart) -> Value {
    let mut total = 0;
    let items: Vec<Value> = cart
        .items
        .iter()
        .map(|(product, quantity)| {
            let price = shop.products.get(product).map_or(0, |p| p.price);
            total += price * quantity;
            json!({"product_id": product, "quantity": quantity, "unit_price": price,
                   "line_total": price * quantity})
        })
        .collect();
    let status = if cart.order.is_some() { "CHECKED_OUT" } else { "OPEN" };
    json!({"id": id, "status": status, "items": items, "total": total, "order_id": cart.order})
}

async fn create_cart(State(app): State<Shared>) -> ApiResult {
    let id = uuid::Uuid::new_v4().to_string();
    let mut shop = app.shop();
    shop.carts.insert(id.clone(), Cart::default());
    let out = cart_json(&shop, &id, &shop.carts[&id]);
    reply(StatusCode::CREATED, out)
}

async fn get_cart(State(app): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let found = {
        let shop = app.shop();
        shop.carts.get(&id).map(|c| cart_json(&shop, &id, c))
    };
    match found {
        Some(c) => reply(StatusCode::OK, c),
        None => app.missing("cart", &id),
    }
}

/// Abandon an open cart: it is gone (a checked-out cart stays, with its order).
async fn abandon_cart(State(app): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let mut shop = match app.open_cart(&id) {
        Ok(shop) => shop,
        Err(answer) => return *answer,
    };
    shop.carts.remove(&id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn add_item(
    State(app): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let body = object(&headers, &body)?;
    let product_id = text(&body, "product_id")?.to_string();
    let quantity = integer(&body, "quantity", 1, 1_000)?;
    let mut shop = match app.open_cart(&id) {
        Ok(shop) => shop,
        Err(answer) => return *answer,
    };
    let Some(stock) = shop.products.get(&product_id).map(|p| p.stock) else {
        return Err(ApiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_product",
            format!("product_id {product_id:?} is not a product"),
        ));
    };
    let in_cart = shop.carts[&id].items.iter().find(|(p, _)| *p == product_id).map_or(0, |(_, q)| *q);
    if in_cart + quantity > stock {
        return Err(conflict(
            "insufficient_stock",
            format!("{} requested ({in_cart} already in the cart), {stock} in stock", in_cart + quantity),
        ));
    }
    let cart = shop.carts.get_mut(&id).expect("open_cart found it, and the lock is held");
    match cart.items.iter_mut().find(|(p, _)| *p == product_id) {
        Some((_, q)) => *q += quantity,
        None => cart.items.push((product_id, quantity)),
    }
    let out = cart_json(&shop, &id, &shop.carts[&id]);
    reply(StatusCode::OK, out)
}

async fn remove_item(State(app): State<Shared>, Path((id, product_id)): Path<(String, String)>) -> ApiResult {
    let mut shop = match app.open_cart(&id) {
        Ok(shop) => shop,
        Err(answer) => return *answer,
    };
    let cart = shop.carts.get_mut(&id).expect("open_cart found it, and the lock is held");
    let before = cart.items.len();
    cart.items.retain(|(p, _)| *p != product_id);
    if cart.items.len() == before {
        return Err(not_found("item in this cart for product", &product_id));
    }
    let out = cart_json(&shop, &id, &shop.carts[&id]);
    reply(StatusCode::OK, out)
}

async fn checkout(State(app): State<Shared>, Path(id): Path<String>, headers: HeaderMap) -> ApiResult {
    if !app.faults.on("checkout-rate-limit-off")
        && let Some(too_many) = app.checkouts.admit(client_id(&headers))
    {
        return Ok(too_many);
    }
    let order_id = uuid::Uuid::new_v4().to_string();
    let order = {
        let mut shop = app.shop();
        let Some(cart) = shop.carts.get(&id) else {
            drop(shop);
            return app.missing("cart", &id);
        };
        if let Some(order) = &cart.order {
            return Err(conflict("already_checked_out", format!("cart {id} became order {order}")));
        }
        if cart.items.is_empty() && !app.faults.on("checkout-ignores-empty-cart") {
            return Err(ApiError(
                StatusCode::UNPROCESSABLE_ENTITY,
                "empty_cart",
                format!("cart {id} has no items; add some before checking out"),
            ));
        }
        let items = cart.items.clone();
        let mut lines = Vec::new();
        let mut total = 0;
        for (product_id, quantity) in &items {
            let p = &shop.products[product_id];
            if p.stock < *quantity {
                return Err(conflict(
                    "insufficient_stock",
                    format!("{quantity} of {} requested, {} in stock", p.sku, p.stock),
                ));
            }
            let line_total = p.price * quantity;
            total += if app.faults.on("total-miscalculated") { p.price } else { line_total };
            lines.push(json!({"product_id": product_id, "sku": p.sku, "quantity": quantity,
                              "unit_price": p.price, "line_total": line_total}));
        }
        if !app.faults.on("stock-not-decremented") {
            for (product_id, quantity) in &items {
                if let Some(p) = shop.products.get_mut(product_id) {
                    p.stock -= quantity;
                }
            }
        }
        let order =
            json!({"id": order_id, "cart_id": id, "status": "PENDING", "lines": lines, "total": total});
        shop.orders.insert(order_id.clone(), order.clone());
        if let Some(cart) = shop.carts.get_mut(&id) {
            cart.order = Some(order_id.clone());
        }
        order
    };
    if !app.faults.on("order-stuck-pending") {
        tokio::spawn(fulfil(app.clone(), order_id));
    }
    reply(StatusCode::CREATED, order)
}

/// Payment, then shipping: PENDING -> PAID -> FULFILLED.
async fn fulfil(app: Shared, order_id: String) {
    for status in ["PAID", "FULFILLED"] {
        tokio::time::sleep(FULFILMENT_STEP).await;
        if let Some(order) = app.shop().orders.get_mut(&order_id) {
            order["status"] = json!(status);
        }
    }
}

async fn get_order(State(app): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let found = app.shop().orders.get(&id).cloned();
    match found {
        Some(o) => reply(StatusCode::OK, o),
        None => app.missing("order", &id),
    }
}
