//! Uses what contract 0.2 added, so the host's handling of each is tested end to end: a method
//! beyond the seven, form, multipart and byte bodies, status classes, a typed check argument
//! judged against the request as sent, and the host's version and features in `plan`.

use serde::{Deserialize, Serialize};
use smoke_plugin::{
    CheckInput, Info, MultipartPart, Plan, PlanError, PlanInput, Plugin, Scenario, Step, Verdict,
};

struct Hatches;

/// The check argument: what the request body must have been, exactly.
#[derive(Serialize, Deserialize)]
struct SentBody {
    content_type_prefix: String,
    body: String,
}

const FEATURES: [&str; 5] = ["method.other", "body.form", "body.multipart", "body.bytes", "status.class"];

impl Plugin for Hatches {
    fn info() -> Info {
        Info::new("hatches", "0.2.0", "test").describe("contract 0.2's escape hatches")
    }

    fn plan(input: PlanInput) -> Result<Plan, PlanError> {
        if input.host.contract != smoke_plugin::WIT_VERSION {
            return Err(PlanError::new(format!("planned under contract {}", input.host.contract)));
        }
        if let Some(missing) = FEATURES.iter().find(|f| !input.host_supports(f)) {
            return Err(PlanError::new(format!("the host lacks {missing}")));
        }
        let form = SentBody {
            content_type_prefix: "application/x-www-form-urlencoded".into(),
            body: "name=a+b%26c&n=1".into(),
        };
        Ok(Plan::new()
            .scenario(
                Scenario::happy_path("hatches.propfind", "PROPFIND /dav")
                    .step(Step::method("PROPFIND", "/dav").expect_status_class(2)),
            )
            .scenario(Scenario::happy_path("hatches.form", "POST /form").step(
                Step::post("/form").form(&[("name", "a b&c"), ("n", "1")]).expect_status(200).check(&form),
            ))
            .scenario(
                Scenario::happy_path("hatches.multipart", "POST /upload").step(
                    Step::post("/upload")
                        .multipart(vec![
                            MultipartPart::text("title", "hello"),
                            MultipartPart::file(
                                "file",
                                "a.bin",
                                "application/octet-stream",
                                vec![0, 1, 2, 255],
                            ),
                        ])
                        .expect_status(201),
                ),
            )
            .scenario(
                Scenario::happy_path("hatches.bytes", "PUT /blob").step(
                    Step::put("/blob")
                        .bytes("application/octet-stream", vec![0xde, 0xad, 0xbe, 0xef])
                        .expect_status(204),
                ),
            )
            .scenario(
                Scenario::happy_path("hatches.class-refuses", "GET /missing")
                    .describe("accepts any 2xx, gets a 404: must fail")
                    .step(Step::get("/missing").expect_status_class(2)),
            ))
    }

    fn check(input: CheckInput) -> Verdict {
        let expected: SentBody = match input.argument() {
            Ok(argument) => argument,
            Err(verdict) => return verdict,
        };
        let request = input.request();
        let content_type = request.headers.iter().find(|h| h.name.eq_ignore_ascii_case("content-type"));
        if !content_type.is_some_and(|h| h.value.starts_with(&expected.content_type_prefix)) {
            return Verdict::fail(format!("sent content type {content_type:?}"));
        }
        if request.body != expected.body.as_bytes() {
            return Verdict::fail(format!("sent {:?}", String::from_utf8_lossy(&request.body)));
        }
        Verdict::pass("the body was sent as planned")
    }
}

smoke_plugin::export!(Hatches);
