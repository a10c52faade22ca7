//! The healthcare plugin: smoke scenarios for clinic APIs (`examples/clinic-api` is the reference
//! service).
//!
//! What it knows: an SSN has the form `NNN-NN-NNNN` and never comes back unmasked (only its last
//! four digits, as `***-**-1234`); a date of birth is a real date, not in the future; an
//! appointment needs an existing patient and doctor and a start in the future; a doctor's slot is
//! booked once; surgery waits for approval. It declares `ssn` and `date_of_birth` as sensitive,
//! so the host redacts them in every report, log and transcript while these checks still see
//! the real values; the bearer token is a secret config value, redacted too.
//!
//! Dates are fixed and far in the future (2099), so the plan is the same every day. Scenarios
//! meant to catch a class of bug carry `fault:<name>`.

use serde_json::{Value, json};
use smoke_plugin::{
    CheckInput, ConfigKind, Info, Plan, PlanError, PlanInput, Plugin, Scenario, Seed, Step, Verdict, ids,
};

struct Healthcare;

const ALICE_SSN: &str = "123-45-6789";
const ALICE_BORN: &str = "1980-04-12";

/// A request carrying the bearer token.
fn authed(step: Step) -> Step {
    step.bearer("{{config.token}}")
}

fn post(path: &str, body: Value) -> Step {
    authed(Step::post(path).json(body))
}

fn get(path: &str) -> Step {
    authed(Step::get(path))
}

fn patient(name: &str, born: &str, ssn: &str) -> Value {
    json!({"name": name, "date_of_birth": born, "ssn": ssn})
}

/// An appointment on 2099-03-`day` at `hour`:00 UTC; each scenario takes its own slot.
fn appointment(patient: &str, doctor: &str, day: u32, hour: u32, kind: &str) -> Value {
    json!({"patient_id": patient, "doctor_id": doctor, "start": format!("2099-03-{day:02}T{hour:02}:00:00Z"),
           "type": kind})
}

fn book(body: Value) -> Step {
    post("/api/appointments", body)
}

fn seeds() -> Vec<Seed> {
    vec![
        Seed::new(
            "patient.alice",
            post("/api/patients", patient("Alice Example", ALICE_BORN, ALICE_SSN))
                .expect_status(201)
                .capture("alice_id", "/id"),
        )
        .describe("a patient with a date of birth and an SSN"),
        Seed::new(
            "patient.bob",
            post("/api/patients", patient("Bob Example", "1975-11-30", "987-65-4321"))
                .expect_status(201)
                .capture("bob_id", "/id"),
        )
        .describe("a second patient"),
        Seed::new(
            "doctor.grey",
            post("/api/doctors", json!({"name": "Dr. Grey", "specialty": "surgery"}))
                .expect_status(201)
                .capture("grey_id", "/id"),
        )
        .describe("a surgeon"),
    ]
}

fn masked_check() -> Value {
    json!({"rule": "masked", "field": "ssn"})
}

fn patients() -> Vec<Scenario> {
    let invalid = |id: &str, what: &str, body: Value| {
        Scenario::validation_error(&format!("healthcare.patients.create.{id}"), "POST /api/patients")
            .describe(what)
            .step(post("/api/patients", body).expect_status(422).expect_eq("/error", "validation_error"))
    };
    vec![
        Scenario::happy_path("healthcare.patients.create", "POST /api/patients")
            .describe("a patient is registered and the response shows the SSN masked")
            .tag("fault:ssn-unmasked")
            .step(
                post("/api/patients", patient("Carol Example", "1990-07-01", "555-12-3456"))
                    .expect_status(201)
                    .expect_eq("/date_of_birth", "1990-07-01")
                    .check(masked_check())
                    .capture("carol_id", "/id"),
            ),
        Scenario::happy_path("healthcare.patients.get", "GET /api/patients/{id}")
            .describe("a patient reads back with only the last four digits of the SSN")
            .tag("fault:ssn-unmasked")
            .step(
                get("/api/patients/{{alice_id}}")
                    .expect_status(200)
                    .expect_eq("/name", "Alice Example")
                    .check(masked_check()),
            ),
        Scenario::not_found("healthcare.patients.get.not-found", "GET /api/patients/{id}")
            .describe("an unknown patient is a 404")
            .step(get(&format!("/api/patients/{}", ids::missing(1))).expect_status(404)),
        invalid(
            "ssn-without-dashes",
            "an SSN without dashes is refused",
            patient("Dan", "1990-01-01", "123456789"),
        )
        .tag("fault:ssn-unvalidated"),
        invalid(
            "ssn-with-letters",
            "an SSN with letters is refused",
            patient("Eve", "1990-01-01", "12A-45-6789"),
        )
        .tag("fault:ssn-unvalidated"),
        invalid(
            "missing-ssn",
            "a patient needs an SSN",
            json!({"name": "Fay", "date_of_birth": "1990-01-01"}),
        ),
        invalid(
            "born-in-the-future",
            "a date of birth in the future is refused",
            patient("Gus", "2999-01-01", "111-22-3333"),
        ),
        invalid(
            "impossible-birth-date",
            "a date of birth that does not exist is refused",
            patient("Hal", "1980-02-30", "111-22-4444"),
        ),
        invalid(
            "missing-name",
            "a patient needs a name",
            json!({"date_of_birth": "1990-01-01", "ssn": "111-22-5555"}),
        ),
        Scenario::auth("healthcare.patients.get.unauthenticated", "GET /api/patients/{id}")
            .describe("patient records are not served without the bearer token")
            .step(Step::get("/api/patients/{{alice_id}}").expect_status(401)),
    ]
}

fn doctors() -> Vec<Scenario> {
    vec![
        Scenario::happy_path("healthcare.doctors.create", "POST /api/doctors")
            .describe("a doctor is registered and reads back")
            .step(
                post("/api/doctors", json!({"name": "Dr. Who", "specialty": "general practice"}))
                    .expect_status(201)
                    .capture("who_id", "/id"),
            )
            .step(
                get("/api/doctors/{{who_id}}")
                    .named("read it back")
                    .expect_status(200)
                    .expect_eq("/specialty", "general practice"),
            ),
        Scenario::happy_path("healthcare.doctors.get", "GET /api/doctors/{id}")
            .describe("a seeded doctor reads back")
            .step(get("/api/doctors/{{grey_id}}").expect_status(200).expect_eq("/name", "Dr. Grey")),
        Scenario::not_found("healthcare.doctors.get.not-found", "GET /api/doctors/{id}")
            .describe("an unknown doctor is a 404")
            .step(get(&format!("/api/doctors/{}", ids::missing(2))).expect_status(404)),
        Scenario::validation_error("healthcare.doctors.create.missing-specialty", "POST /api/doctors")
            .describe("a doctor needs a specialty")
            .step(post("/api/doctors", json!({"name": "Dr. Nobody"})).expect_status(422)),
    ]
}

fn appointments() -> Vec<Scenario> {
    let create = "POST /api/appointments";
    let decision = "POST /api/appointments/{id}/decision";
    vec![
        Scenario::happy_path("healthcare.appointments.create", create)
            .describe("a checkup for an existing patient and doctor in the future is booked")
            .step(
                book(appointment("{{alice_id}}", "{{grey_id}}", 2, 9, "checkup"))
                    .expect_status(201)
                    .expect_eq("/status", "BOOKED")
                    .capture("checkup_id", "/id"),
            ),
        Scenario::happy_path("healthcare.appointments.get", "GET /api/appointments/{id}")
            .describe("a booked appointment reads back")
            .depends_on("healthcare.appointments.create")
            .step(get("/api/appointments/{{checkup_id}}").expect_status(200).expect_eq("/type", "checkup")),
        Scenario::not_found("healthcare.appointments.get.not-found", "GET /api/appointments/{id}")
            .describe("an unknown appointment is a 404")
            .step(get(&format!("/api/appointments/{}", ids::missing(3))).expect_status(404)),
        Scenario::validation_error("healthcare.appointments.create.in-the-past", create)
            .describe("an appointment cannot start in the past")
            .tag("fault:past-appointment-accepted")
            .step(
                book(json!({"patient_id": "{{alice_id}}", "doctor_id": "{{grey_id}}",
                            "start": "2001-01-01T09:00:00Z", "type": "checkup"}))
                .expect_status(422)
                .expect_eq("/error", "in_the_past"),
            ),
        Scenario::validation_error("healthcare.appointments.create.unknown-patient", create)
            .describe("an appointment needs a patient who exists")
            .tag("fault:unknown-patient-accepted")
            .step(
                book(appointment(&ids::missing(4), "{{grey_id}}", 3, 9, "checkup"))
                    .expect_status(422)
                    .expect_eq("/error", "unknown_patient"),
            ),
        Scenario::validation_error("healthcare.appointments.create.unknown-doctor", create)
            .describe("an appointment needs a doctor who exists")
            .step(
                book(appointment("{{alice_id}}", &ids::missing(5), 3, 10, "checkup"))
                    .expect_status(422)
                    .expect_eq("/error", "unknown_doctor"),
            ),
        Scenario::validation_error("healthcare.appointments.create.invalid-type", create)
            .describe("an appointment type outside the list is refused")
            .step(book(appointment("{{alice_id}}", "{{grey_id}}", 3, 11, "massage")).expect_status(422)),
        Scenario::business_rule("healthcare.appointments.double-booking", create)
            .describe("a doctor's slot is booked once: a second patient at the same time is a conflict")
            .tag("fault:double-booking-accepted")
            .step(book(appointment("{{alice_id}}", "{{grey_id}}", 4, 9, "consultation")).expect_status(201))
            .step(
                book(appointment("{{bob_id}}", "{{grey_id}}", 4, 9, "consultation"))
                    .named("book the same slot for another patient")
                    .expect_status(409)
                    .expect_eq("/error", "slot_taken"),
            ),
        Scenario::happy_path("healthcare.appointments.approval", decision)
            .describe("surgery waits for approval, and is booked once approved")
            .tag("fault:approval-skipped")
            .step(
                book(appointment("{{bob_id}}", "{{grey_id}}", 5, 9, "surgery"))
                    .expect_status(201)
                    .expect_eq("/status", "WAITING_APPROVAL")
                    .capture("surgery_id", "/id"),
            )
            .step(
                post("/api/appointments/{{surgery_id}}/decision", json!({"decision": "approve"}))
                    .named("approve")
                    .expect_status(200)
                    .expect_eq("/status", "BOOKED"),
            )
            .step(
                get("/api/appointments/{{surgery_id}}")
                    .named("read it back")
                    .expect_status(200)
                    .expect_eq("/status", "BOOKED"),
            ),
        Scenario::business_rule("healthcare.appointments.rejection", decision)
            .describe("a rejected surgery is REJECTED, and cannot be decided again")
            .tag("fault:approval-skipped")
            .step(
                book(appointment("{{alice_id}}", "{{grey_id}}", 6, 9, "surgery"))
                    .expect_status(201)
                    .capture("rejected_id", "/id"),
            )
            .step(
                post("/api/appointments/{{rejected_id}}/decision", json!({"decision": "reject"}))
                    .named("reject")
                    .expect_status(200)
                    .expect_eq("/status", "REJECTED"),
            )
            .step(
                post("/api/appointments/{{rejected_id}}/decision", json!({"decision": "approve"}))
                    .named("decide again")
                    .expect_status(409)
                    .expect_eq("/error", "not_waiting"),
            ),
        Scenario::validation_error("healthcare.appointments.decision.invalid", decision)
            .describe("a decision other than approve or reject is refused")
            .step(
                book(appointment("{{bob_id}}", "{{grey_id}}", 7, 9, "surgery"))
                    .expect_status(201)
                    .capture("undecided_id", "/id"),
            )
            .step(
                post("/api/appointments/{{undecided_id}}/decision", json!({"decision": "maybe"}))
                    .expect_status(422),
            ),
        Scenario::not_found("healthcare.appointments.decision.not-found", decision)
            .describe("deciding an unknown appointment is a 404")
            .step(
                post(
                    &format!("/api/appointments/{}/decision", ids::missing(6)),
                    json!({"decision": "approve"}),
                )
                .expect_status(404),
            ),
    ]
}

impl Plugin for Healthcare {
    fn info() -> Info {
        Info::new("healthcare", env!("CARGO_PKG_VERSION"), "healthcare")
            .describe("Clinic APIs: patients with masked SSNs, doctors, appointments, surgery approvals")
            .config_key("token", ConfigKind::Secret, true, None, "bearer token the clinic API wants")
            .sensitive_field("ssn")
            .sensitive_field("date_of_birth")
            .sensitive_header("authorization")
    }

    fn plan(_input: PlanInput) -> Result<Plan, PlanError> {
        let mut plan = Plan::new();
        for seed in seeds() {
            plan = plan.seed(seed);
        }
        Ok(plan
            .scenarios(patients())
            .scenarios(doctors())
            .scenarios(appointments())
            .endpoint("POST /api/patients", true)
            .endpoint("GET /api/patients/{id}", false)
            .endpoint("POST /api/doctors", true)
            .endpoint("GET /api/doctors/{id}", false)
            .endpoint("POST /api/appointments", true)
            .endpoint("GET /api/appointments/{id}", false)
            .endpoint("POST /api/appointments/{id}/decision", true))
    }

    fn check(input: CheckInput) -> Verdict {
        let (rule, argument) = match input.rule() {
            Ok(r) => r,
            Err(verdict) => return verdict,
        };
        match rule.as_str() {
            "masked" => {
                let field = argument["field"].as_str().unwrap_or("ssn");
                let sent = serde_json::from_slice::<Value>(&input.request().body).ok();
                let sent = sent.as_ref().and_then(|b| b[field].as_str());
                masked(input.response_json().as_ref().and_then(|b| b[field].as_str()), sent)
            }
            other => Verdict::fail(format!("unknown check rule {other:?}")),
        }
    }
}

/// The value is `***-**-NNNN` and, when the request carried the full value, not that value.
/// (The verdict never quotes the value: the host redacts it anyway, but a plugin should not
/// rely on that.)
fn masked(returned: Option<&str>, sent: Option<&str>) -> Verdict {
    let Some(value) = returned else { return Verdict::fail("the response has no SSN") };
    let b = value.as_bytes();
    let shape = b.len() == 11 && b[..7] == *b"***-**-" && b[7..].iter().all(u8::is_ascii_digit);
    if !shape {
        return Verdict::fail(format!(
            "the SSN comes back unmasked or malformed ({} characters, {} digits); expected ***-**-NNNN",
            value.len(),
            value.bytes().filter(u8::is_ascii_digit).count()
        ));
    }
    if let Some(sent) = sent
        && !sent.ends_with(&value[7..])
    {
        return Verdict::fail("the masked SSN's last four digits are not those sent");
    }
    Verdict::pass("the SSN is masked to its last four digits")
}

smoke_plugin::export!(Healthcare);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_masked_ssn_with_the_right_digits_passes() {
        assert!(masked(Some("***-**-6789"), Some("123-45-6789")).pass);
        assert!(masked(Some("***-**-6789"), None).pass);
        assert!(!masked(Some("123-45-6789"), Some("123-45-6789")).pass);
        assert!(!masked(Some("***-**-0000"), Some("123-45-6789")).pass);
        assert!(!masked(Some("***-**-67"), None).pass);
        assert!(!masked(None, None).pass);
    }

    #[test]
    fn the_plan_is_deterministic_with_unique_ids() {
        smoke_plugin::testing::assert_deterministic_plan::<Healthcare>(smoke_plugin::testing::empty_input());
    }
}
