//! iot-api: an example IoT API for smoke's iot plugin (written in Python).
//!
//! Devices of a known type (thermometer, hygrometer, co2) with unique serial numbers; readings
//! whose values must lie within the device type's range, kept per device with a summary (count,
//! min, max, mean); firmware updates, which only move forward (semver) and apply asynchronously
//! (`updating`, then the new version). Everything lives in memory, so every start is clean.
//!
//! Usage: `iot-api [--port N] [--list-faults]`; faults from `FAULTS`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use example_support::{ApiError, ApiResult, Faults, invalid, not_found, object, reply, text};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub const FAULTS: &[(&str, &str)] = &[
    ("duplicate-serial-accepted", "a second device with an existing serial number is registered"),
    ("out-of-range-accepted", "a reading outside its device type's range is stored"),
    ("unknown-device-reading-accepted", "a reading for a device that does not exist is accepted"),
    ("reading-not-persisted", "a reading is acknowledged but never stored"),
    ("summary-miscalculated", "a device's reading summary divides by one more than the count"),
    ("firmware-downgrade-accepted", "a firmware update to an older version is started"),
    ("firmware-update-stuck", "a firmware update never completes: the device stays updating"),
];

/// The device types and the range their readings must lie in (inclusive).
const TYPES: &[(&str, &str, f64, f64)] = &[
    ("thermometer", "celsius", -40.0, 125.0),
    ("hygrometer", "percent", 0.0, 100.0),
    ("co2", "ppm", 400.0, 5000.0),
];

/// How long a firmware update takes to apply.
const FIRMWARE_APPLY: Duration = Duration::from_millis(200);

struct Device {
    serial: String,
    kind: &'static str,
    name: String,
    firmware: String,
    /// The version being applied, while an update runs.
    updating_to: Option<String>,
    readings: Vec<(String, f64)>,
}

#[derive(Default)]
struct Fleet {
    devices: BTreeMap<String, Device>,
}

struct App {
    fleet: Mutex<Fleet>,
    faults: Faults,
}

impl App {
    fn fleet(&self) -> MutexGuard<'_, Fleet> {
        example_support::lock(&self.fleet)
    }
}

type Shared = Arc<App>;

#[tokio::main]
async fn main() {
    let cli = example_support::Cli::parse("iot-api", FAULTS, &[]);
    let faults = Faults::from_env("iot-api", FAULTS);
    let app = Arc::new(App { fleet: Mutex::default(), faults });
    example_support::serve("iot-api", cli.port, router(app), "").await;
}

fn router(app: Shared) -> Router {
    let api = Router::new()
        .route("/api/device-types", get(device_types))
        .route("/api/devices", post(register))
        .route("/api/devices/{id}", get(get_device))
        .route("/api/devices/{id}/readings", post(add_reading).get(readings))
        .route("/api/devices/{id}/firmware", post(update_firmware));
    example_support::around(api, include_str!("../openapi.json")).with_state(app)
}

fn device_json(id: &str, d: &Device) -> Value {
    let status = if d.updating_to.is_some() { "updating" } else { "ready" };
    json!({"id": id, "serial": d.serial, "type": d.kind, "name": d.name, "firmware": d.firmware,
           "status": status, "updating_to": d.updating_to})
}

async fn device_types() -> ApiResult {
    let items: Vec<Value> = TYPES
        .iter()
        .map(|(name, unit, min, max)| json!({"type": name, "unit": unit, "min": min, "max": max}))
        .collect();
    reply(StatusCode::OK, json!({"items": items}))
}

async fn register(State(app): State<Shared>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let body = object(&headers, &body)?;
    let serial = text(&body, "serial")?.to_string();
    if serial.len() > 64 || !serial.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(invalid("serial must be 1 to 64 letters, digits or '-'"));
    }
    let kind = text(&body, "type")?;
    let Some((kind, ..)) = TYPES.iter().find(|(name, ..)| *name == kind) else {
        let known: Vec<&str> = TYPES.iter().map(|(name, ..)| *name).collect();
        return Err(invalid(format!("type {kind:?} is not one of {}", known.join(", "))));
    };
    let name = match body.get("name") {
        None => serial.clone(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(invalid("name must be a string")),
    };
    let mut fleet = app.fleet();
    if !app.faults.on("duplicate-serial-accepted")
        && let Some((existing, _)) = fleet.devices.iter().find(|(_, d)| d.serial == serial)
    {
        return Err(ApiError(
            StatusCode::CONFLICT,
            "duplicate_serial",
            format!("serial {serial:?} belongs to device {existing}"),
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let device =
        Device { serial, kind, name, firmware: "1.0.0".into(), updating_to: None, readings: Vec::new() };
    let out = device_json(&id, &device);
    fleet.devices.insert(id, device);
    reply(StatusCode::CREATED, out)
}

async fn get_device(State(app): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let found = app.fleet().devices.get(&id).map(|d| device_json(&id, d));
    found.map_or_else(|| Err(not_found("device", &id)), |d| reply(StatusCode::OK, d))
}

async fn add_reading(
    State(app): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let body = object(&headers, &body)?;
    let value = match body.get("value") {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
        Some(other) => return Err(invalid(format!("value must be a number; got {other}"))),
        None => return Err(invalid("value is required")),
    };
    let mut fleet = app.fleet();
    let reading_id = uuid::Uuid::new_v4().to_string();
    let Some(device) = fleet.devices.get_mut(&id) else {
        if app.faults.on("unknown-device-reading-accepted") {
            return reply(StatusCode::CREATED, json!({"id": reading_id, "device_id": id, "value": value}));
        }
        return Err(not_found("device", &id));
    };
    let (_, unit, min, max) = TYPES.iter().find(|(name, ..)| *name == device.kind).expect("a known type");
    let in_range = value.is_finite() && (*min..=*max).contains(&value);
    if !in_range && !app.faults.on("out-of-range-accepted") {
        return Err(ApiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            "out_of_range",
            format!("a {} reads {min} to {max} {unit}; got {value}", device.kind),
        ));
    }
    if !app.faults.on("reading-not-persisted") {
        device.readings.push((reading_id.clone(), value));
    }
    reply(StatusCode::CREATED, json!({"id": reading_id, "device_id": id, "value": value, "unit": unit}))
}

async fn readings(State(app): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let fleet = app.fleet();
    let Some(device) = fleet.devices.get(&id) else {
        return Err(not_found("device", &id));
    };
    let values: Vec<f64> = device.readings.iter().map(|(_, v)| *v).collect();
    let items: Vec<Value> = device.readings.iter().map(|(rid, v)| json!({"id": rid, "value": v})).collect();
    let count = values.len();
    let summary = if count == 0 {
        json!({"count": 0, "min": null, "max": null, "mean": null})
    } else {
        let divisor = if app.faults.on("summary-miscalculated") { count + 1 } else { count };
        let mean = values.iter().sum::<f64>() / divisor as f64;
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        json!({"count": count, "min": min, "max": max, "mean": mean})
    };
    reply(StatusCode::OK, json!({"device_id": id, "items": items, "summary": summary}))
}

/// `MAJOR.MINOR.PATCH` as numbers.
fn semver(text: &str) -> Option<(u64, u64, u64)> {
    let mut parts = text.split('.').map(|p| p.parse::<u64>().ok());
    let version = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(version)
}

async fn update_firmware(
    State(app): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let body = object(&headers, &body)?;
    let version = text(&body, "version")?.to_string();
    let Some(wanted) = semver(&version) else {
        return Err(invalid(format!("version {version:?} is not MAJOR.MINOR.PATCH")));
    };
    {
        let mut fleet = app.fleet();
        let Some(device) = fleet.devices.get_mut(&id) else {
            return Err(not_found("device", &id));
        };
        if let Some(to) = &device.updating_to {
            return Err(ApiError(
                StatusCode::CONFLICT,
                "update_running",
                format!("updating to {to} already"),
            ));
        }
        let current = semver(&device.firmware).unwrap_or((0, 0, 0));
        if wanted <= current && !app.faults.on("firmware-downgrade-accepted") {
            return Err(ApiError(
                StatusCode::CONFLICT,
                "not_newer",
                format!("firmware {version} is not newer than the installed {}", device.firmware),
            ));
        }
        device.updating_to = Some(version.clone());
    }
    if !app.faults.on("firmware-update-stuck") {
        let app = app.clone();
        let id = id.clone();
        tokio::spawn(async move {
            tokio::time::sleep(FIRMWARE_APPLY).await;
            if let Some(device) = app.fleet().devices.get_mut(&id)
                && let Some(to) = device.updating_to.take()
            {
                device.firmware = to;
            }
        });
    }
    reply(StatusCode::ACCEPTED, json!({"device_id": id, "status": "updating", "version": version}))
}
