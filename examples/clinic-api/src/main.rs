//! clinic-api: an example clinic API for smoke's healthcare plugin.
//!
//! Patients (name, date of birth, SSN in `NNN-NN-NNNN` form, always read back masked as
//! `***-**-1234`), doctors, and appointments: the patient and the doctor must exist, the start
//! must be in the future, and a doctor's slot is booked once (409 on a second booking). Surgery
//! waits in `WAITING_APPROVAL` until `POST /api/appointments/{id}/decision` approves (`BOOKED`)
//! or rejects (`REJECTED`) it. Every `/api` route wants `Authorization: Bearer $CLINIC_TOKEN`
//! (default `smoke-clinic-token`). Everything lives in memory, so every start is clean.
//!
//! Usage: `clinic-api [--port N] [--list-faults]`; faults from `FAULTS`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use example_support::{ApiError, ApiResult, Faults, invalid, not_found, object, reply, text};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

pub const FAULTS: &[(&str, &str)] = &[
    ("ssn-unvalidated", "an SSN in any form is accepted"),
    ("ssn-unmasked", "patients read back with their full SSN"),
    ("past-appointment-accepted", "an appointment starting in the past is booked"),
    ("double-booking-accepted", "a doctor's slot can be booked twice"),
    ("approval-skipped", "surgery is booked at once, without waiting for approval"),
    ("unknown-patient-accepted", "an appointment for a patient who does not exist is booked"),
];

const TYPES: &[&str] = &["checkup", "consultation", "surgery"];

#[derive(Default)]
struct Records {
    patients: BTreeMap<String, Value>,
    doctors: BTreeMap<String, Value>,
    appointments: BTreeMap<String, Value>,
}

struct App {
    records: Mutex<Records>,
    faults: Faults,
    token: String,
}

impl App {
    fn records(&self) -> MutexGuard<'_, Records> {
        example_support::lock(&self.records)
    }
}

type Shared = Arc<App>;

#[tokio::main]
async fn main() {
    let cli = example_support::Cli::parse("clinic-api", FAULTS, &[]);
    let faults = Faults::from_env("clinic-api", FAULTS);
    let token = std::env::var("CLINIC_TOKEN").unwrap_or_else(|_| "smoke-clinic-token".into());
    let app = Arc::new(App { records: Mutex::default(), faults, token });
    example_support::serve("clinic-api", cli.port, router(app), "").await;
}

fn router(app: Shared) -> Router {
    let api = Router::new()
        .route("/api/patients", post(create_patient))
        .route("/api/patients/{id}", get(get_patient))
        .route("/api/doctors", post(create_doctor))
        .route("/api/doctors/{id}", get(get_doctor))
        .route("/api/appointments", post(create_appointment))
        .route("/api/appointments/{id}", get(get_appointment))
        .route("/api/appointments/{id}/decision", post(decide))
        .route_layer(middleware::from_fn_with_state(app.clone(), require_token));
    example_support::around(api, include_str!("../openapi.json")).with_state(app)
}

async fn require_token(State(app): State<Shared>, request: Request, next: Next) -> Response {
    if example_support::has_bearer(request.headers(), &app.token) {
        return next.run(request).await;
    }
    example_support::unauthorized()
}

/// `NNN-NN-NNNN`, digits only.
fn valid_ssn(ssn: &str) -> bool {
    let b = ssn.as_bytes();
    b.len() == 11
        && b.iter().enumerate().all(|(i, c)| if i == 3 || i == 6 { *c == b'-' } else { c.is_ascii_digit() })
}

/// `***-**-1234`: only the last four digits are ever shown.
fn masked(ssn: &str) -> String {
    let last4: String = ssn.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    format!("***-**-{last4}")
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` as days since the epoch, if it is a real date.
fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| {
        s.get(r).filter(|t| t.bytes().all(|c| c.is_ascii_digit()))?.parse::<i64>().ok()
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days_in_month).contains(&d).then(|| days_from_civil(y, m, d))
}

/// `YYYY-MM-DDTHH:MM:SSZ` as seconds since the epoch.
fn parse_instant(s: &str) -> Option<i64> {
    let (date, time) = s.strip_suffix('Z')?.split_once('T')?;
    let days = parse_date(date)?;
    let parts: Vec<i64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [h, m, sec] = parts[..] else { return None };
    ((0..24).contains(&h) && (0..60).contains(&m) && (0..60).contains(&sec) && time.len() == 8)
        .then(|| days * 86_400 + h * 3_600 + m * 60 + sec)
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn patient_view(app: &App, patient: &Value) -> Value {
    let mut out = patient.clone();
    if !app.faults.on("ssn-unmasked") {
        out["ssn"] = json!(masked(patient["ssn"].as_str().unwrap_or("")));
    }
    out
}

async fn create_patient(State(app): State<Shared>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let body = object(&headers, &body)?;
    let name = text(&body, "name")?;
    let born = text(&body, "date_of_birth")?;
    let Some(day) = parse_date(born) else {
        return Err(invalid("date_of_birth must be a real date as YYYY-MM-DD"));
    };
    if day > now_seconds() / 86_400 {
        return Err(invalid("date_of_birth must not be in the future"));
    }
    let ssn = text(&body, "ssn")?;
    if !valid_ssn(ssn) && !app.faults.on("ssn-unvalidated") {
        return Err(invalid("ssn must have the form NNN-NN-NNNN"));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let patient = json!({"id": id, "name": name, "date_of_birth": born, "ssn": ssn});
    app.records().patients.insert(id, patient.clone());
    reply(StatusCode::CREATED, patient_view(&app, &patient))
}

async fn get_patient(State(app): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let patient = app.records().patients.get(&id).cloned().ok_or_else(|| not_found("patient", &id))?;
    reply(StatusCode::OK, patient_view(&app, &patient))
}

async fn create_doctor(State(app): State<Shared>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let body = object(&headers, &body)?;
    let name = text(&body, "name")?;
    let specialty = text(&body, "specialty")?;
    let id = uuid::Uuid::new_v4().to_string();
    let doctor = json!({"id": id, "name": name, "specialty": specialty});
    app.records().doctors.insert(id, doctor.clone());
    reply(StatusCode::CREATED, doctor)
}

async fn get_doctor(State(app): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let doctor = app.records().doctors.get(&id).cloned().ok_or_else(|| not_found("doctor", &id))?;
    reply(StatusCode::OK, doctor)
}

fn unprocessable(code: &'static str, message: String) -> ApiError {
    ApiError(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

async fn create_appointment(State(app): State<Shared>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let body = object(&headers, &body)?;
    let patient = text(&body, "patient_id")?;
    let doctor = text(&body, "doctor_id")?;
    let start = text(&body, "start")?;
    let kind = text(&body, "type")?;
    if !TYPES.contains(&kind) {
        return Err(invalid(format!("type must be one of {}; got {kind:?}", TYPES.join(", "))));
    }
    let Some(at) = parse_instant(start) else {
        return Err(invalid("start must be a UTC time as YYYY-MM-DDTHH:MM:SSZ"));
    };
    if at <= now_seconds() && !app.faults.on("past-appointment-accepted") {
        return Err(unprocessable("in_the_past", format!("start {start} is in the past")));
    }
    let mut records = app.records();
    if !records.patients.contains_key(patient) && !app.faults.on("unknown-patient-accepted") {
        return Err(unprocessable("unknown_patient", format!("patient_id {patient:?} is not a patient")));
    }
    if !records.doctors.contains_key(doctor) {
        return Err(unprocessable("unknown_doctor", format!("doctor_id {doctor:?} is not a doctor")));
    }
    let taken = records
        .appointments
        .values()
        .find(|a| a["doctor_id"] == doctor && a["start"] == start && a["status"] != "REJECTED");
    if let Some(other) = taken
        && !app.faults.on("double-booking-accepted")
    {
        return Err(ApiError(
            StatusCode::CONFLICT,
            "slot_taken",
            format!("doctor {doctor} is booked at {start} (appointment {})", other["id"]),
        ));
    }
    let waits = kind == "surgery" && !app.faults.on("approval-skipped");
    let status = if waits { "WAITING_APPROVAL" } else { "BOOKED" };
    let id = uuid::Uuid::new_v4().to_string();
    let appointment = json!({"id": id, "patient_id": patient, "doctor_id": doctor, "start": start,
                             "type": kind, "status": status});
    records.appointments.insert(id, appointment.clone());
    reply(StatusCode::CREATED, appointment)
}

async fn get_appointment(State(app): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let found = app.records().appointments.get(&id).cloned();
    reply(StatusCode::OK, found.ok_or_else(|| not_found("appointment", &id))?)
}

async fn decide(
    State(app): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let body = object(&headers, &body)?;
    let status = match text(&body, "decision")? {
        "approve" => "BOOKED",
        "reject" => "REJECTED",
        other => return Err(invalid(format!("decision must be \"approve\" or \"reject\"; got {other:?}"))),
    };
    let mut records = app.records();
    let appointment = records.appointments.get_mut(&id).ok_or_else(|| not_found("appointment", &id))?;
    if appointment["status"] != "WAITING_APPROVAL" {
        return Err(ApiError(
            StatusCode::CONFLICT,
            "not_waiting",
            format!("appointment {id} is {}, not WAITING_APPROVAL", appointment["status"]),
        ));
    }
    appointment["status"] = json!(status);
    reply(StatusCode::OK, appointment.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssns_are_validated_and_masked() {
        assert!(valid_ssn("123-45-6789"));
        for bad in ["123456789", "12A-45-6789", "123-456-789", "123-45-67890", ""] {
            assert!(!valid_ssn(bad), "{bad}");
        }
        assert_eq!(masked("123-45-6789"), "***-**-6789");
    }

    #[test]
    fn dates_and_instants_parse_only_when_real() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2000-03-01"), Some(11_017));
        assert!(parse_date("2024-02-29").is_some());
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("1980-13-01"), None);
        assert_eq!(parse_instant("1970-01-02T00:00:01Z"), Some(86_401));
        assert_eq!(parse_instant("2099-01-01T25:00:00Z"), None);
        assert_eq!(parse_instant("2099-01-01 09:00:00"), None);
    }
}
