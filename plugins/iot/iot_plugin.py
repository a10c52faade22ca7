"""iot: smoke's plugin for IoT fleet APIs (devices, readings, firmware), written in Python.

It knows what a generic tool cannot: a serial number names one device; a reading must lie within
its device type's range (a thermometer reads -40 to 125 celsius, a hygrometer 0 to 100 percent,
a CO2 sensor 400 to 5000 ppm), right at the bounds included; a reading acknowledged must be
stored, and a device's summary must agree with its readings; firmware only moves forward and an
update must complete. Built with `smoke-plugin-build iot_plugin -o iot.wasm`; run against
examples/iot-api.
"""

from __future__ import annotations

from dataclasses import dataclass

from smoke_plugin import CheckInput, Info, Plan, Plugin, Scenario, Seed, Step, Verdict, export, ids

#: Device types and the inclusive range of their readings.
RANGES = {"thermometer": (-40.0, 125.0), "hygrometer": (0.0, 100.0), "co2": (400.0, 5000.0)}

DEVICES = "/api/devices"
DEVICE = "/api/devices/{id}"
READINGS = "/api/devices/{id}/readings"
FIRMWARE = "/api/devices/{id}/firmware"


@dataclass
class SummaryRule:
    """The check argument for a readings listing: the device type whose range applies."""

    rule: str
    type: str


def register(serial: str, kind: str, capture: str) -> Step:
    return (Step.post(DEVICES).named(f"register {serial}").json({"serial": serial, "type": kind})
            .expect_status(201).expect_eq("/serial", serial).capture(capture, "/id"))


def reading(device: str, value: float, status: int = 201) -> Step:
    step = Step.post(f"/api/devices/{{{{{device}}}}}/readings").named(f"reading {value}").json({"value": value})
    return step.expect_status(status)


def own(scenario: Scenario, serial: str, kind: str) -> Scenario:
    """A scenario working on a device of its own, so no other scenario disturbs what it counts."""
    return scenario.step(register(serial, kind, "device"))


class Iot(Plugin):
    def info(self) -> Info:
        return Info("iot", "0.1.0", "iot").describe(
            "devices with unique serials, readings within their type's range, forward-only firmware")

    def plan(self, input) -> Plan:
        missing = ids.missing(1)
        plan = (
            Plan()
            .seed(Seed("device.thermometer", register("SMOKE-SEED-T1", "thermometer", "thermometer_id"))
                  .describe("a thermometer every scenario may read"))
            .endpoint("GET /api/device-types")
            .endpoint(f"POST {DEVICES}", True)
            .endpoint(f"GET {DEVICE}")
            .endpoint(f"POST {READINGS}", True)
            .endpoint(f"GET {READINGS}")
            .endpoint(f"POST {FIRMWARE}", True)
        )
        plan.scenario(Scenario.happy_path("iot.types.list", "GET /api/device-types")
                      .describe("the three device types are listed with their ranges")
                      .step(Step.get("/api/device-types").expect_status(200).expect_len("/items", 3)))
        plan.scenario(Scenario.happy_path("iot.devices.register", f"POST {DEVICES}")
                      .describe("a device is registered ready, on firmware 1.0.0, and can be read back")
                      .step(register("SMOKE-H1", "hygrometer", "id").expect_eq("/type", "hygrometer")
                            .expect_eq("/firmware", "1.0.0").expect_eq("/status", "ready"))
                      .step(Step.get("/api/devices/{{id}}").expect_status(200).expect_eq("/serial", "SMOKE-H1")))
        plan.scenario(Scenario.business_rule("iot.devices.duplicate-serial", f"POST {DEVICES}")
                      .describe("a serial number already registered is refused with 409")
                      .tag("fault:duplicate-serial-accepted")
                      .step(Step.post(DEVICES).json({"serial": "SMOKE-SEED-T1", "type": "co2"})
                            .expect_status(409).expect_eq("/error", "duplicate_serial")))
        plan.scenario(Scenario.validation_error("iot.devices.unknown-type", f"POST {DEVICES}")
                      .describe("a device type that does not exist is refused")
                      .step(Step.post(DEVICES).json({"serial": "SMOKE-X1", "type": "barometer"})
                            .expect_status(422)))
        plan.scenario(Scenario.happy_path("iot.devices.read", f"GET {DEVICE}")
                      .step(Step.get("/api/devices/{{thermometer_id}}").expect_status(200)
                            .expect_eq("/serial", "SMOKE-SEED-T1").expect_eq("/type", "thermometer")))
        plan.scenario(Scenario.not_found("iot.devices.missing", f"GET {DEVICE}")
                      .step(Step.get(f"/api/devices/{missing}").expect_status(404)))

        plan.scenario(Scenario.happy_path("iot.readings.record", f"POST {READINGS}")
                      .step(reading("thermometer_id", 21.5).expect_eq("/value", 21.5)))
        for n, (kind, (low, high)) in enumerate(sorted(RANGES.items()), start=1):
            step = 0.5 if kind != "co2" else 1.0
            scenario = own(Scenario.validation_error(f"iot.readings.range.{kind}", f"POST {READINGS}")
                           .describe(f"a {kind} takes {low} and {high}, and refuses just outside them")
                           .tag("fault:out-of-range-accepted"), f"SMOKE-R{n}", kind)
            for value in (low, high):
                scenario.step(reading("device", value))
            for value in (low - step, high + step):
                scenario.step(reading("device", value, 422).expect_eq("/error", "out_of_range"))
            plan.scenario(scenario)
        plan.scenario(Scenario.validation_error("iot.readings.not-a-number", f"POST {READINGS}")
                      .step(Step.post("/api/devices/{{thermometer_id}}/readings").json({"value": "hot"})
                            .expect_status(422)))
        plan.scenario(Scenario.not_found("iot.readings.unknown-device", f"POST {READINGS}")
                      .describe("a reading for a device that does not exist is refused with 404")
                      .tag("fault:unknown-device-reading-accepted")
                      .step(Step.post(f"/api/devices/{missing}/readings").json({"value": 20}).expect_status(404)))
        plan.scenario(Scenario.happy_path("iot.readings.list", f"GET {READINGS}")
                      .step(Step.get("/api/devices/{{thermometer_id}}/readings").expect_status(200)
                            .expect_exists("/summary/count")))
        plan.scenario(own(Scenario.workflow("iot.readings.persisted", f"GET {READINGS}")
                          .describe("readings acknowledged are stored, in order")
                          .tag("fault:reading-not-persisted"), "SMOKE-P1", "thermometer")
                      .step(reading("device", 18.5))
                      .step(reading("device", 19.0))
                      .step(Step.get("/api/devices/{{device}}/readings").expect_status(200)
                            .expect_len("/items", 2).expect_eq("/items/0/value", 18.5)
                            .expect_eq("/items/1/value", 19.0).expect_eq("/summary/count", 2)))
        summary = own(Scenario.business_rule("iot.readings.summary", f"GET {READINGS}")
                      .describe("a device's summary (count, min, max, mean) agrees with its readings")
                      .tag("fault:summary-miscalculated"), "SMOKE-S1", "co2")
        for value in (400, 1000, 2300):
            summary.step(reading("device", value))
        plan.scenario(summary.step(Step.get("/api/devices/{{device}}/readings").named("judge the summary")
                                   .expect_status(200).check(SummaryRule("summary", "co2"))))
        plan.scenario(Scenario.not_found("iot.readings.list-missing", f"GET {READINGS}")
                      .step(Step.get(f"/api/devices/{missing}/readings").expect_status(404)))

        plan.scenario(own(Scenario.happy_path("iot.firmware.update", f"POST {FIRMWARE}")
                          .describe("an update to a newer version completes: the device reports it, ready")
                          .tag("fault:firmware-update-stuck"), "SMOKE-F1", "thermometer")
                      .step(Step.post("/api/devices/{{device}}/firmware").json({"version": "1.1.0"})
                            .expect_status(202).expect_eq("/status", "updating"))
                      .step(Step.get("/api/devices/{{device}}").named("until updated").poll(50, 3000)
                            .expect_status(200).expect_eq("/firmware", "1.1.0").expect_eq("/status", "ready")))
        plan.scenario(own(Scenario.business_rule("iot.firmware.downgrade", f"POST {FIRMWARE}")
                          .describe("firmware never moves back, nor to the installed version")
                          .tag("fault:firmware-downgrade-accepted"), "SMOKE-F2", "hygrometer")
                      .step(Step.post("/api/devices/{{device}}/firmware").json({"version": "0.9.0"})
                            .expect_status(409).expect_eq("/error", "not_newer"))
                      .step(Step.post("/api/devices/{{device}}/firmware").json({"version": "1.0.0"})
                            .expect_status(409).expect_eq("/error", "not_newer"))
                      .step(Step.get("/api/devices/{{device}}").expect_status(200).expect_eq("/firmware", "1.0.0")))
        plan.scenario(Scenario.validation_error("iot.firmware.invalid-version", f"POST {FIRMWARE}")
                      .step(Step.post("/api/devices/{{thermometer_id}}/firmware").json({"version": "latest"})
                            .expect_status(422)))
        plan.scenario(Scenario.not_found("iot.firmware.unknown-device", f"POST {FIRMWARE}")
                      .step(Step.post(f"/api/devices/{missing}/firmware").json({"version": "2.0.0"})
                            .expect_status(404)))
        return plan

    def check(self, input: CheckInput) -> Verdict:
        rule = input.argument_as(SummaryRule)
        if rule.rule != "summary":
            return Verdict.fail(f"unknown rule {rule.rule!r}")
        return judge_summary(input.response.json(), RANGES[rule.type])


def judge_summary(body, bounds: tuple[float, float]) -> Verdict:
    """The summary must be what the readings make: count, min, max and mean, each value in range."""
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        return Verdict.fail("the readings listing has no items")
    values = [item.get("value") for item in body["items"]]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return Verdict.fail(f"a reading is not a number: {values}")
    low, high = bounds
    outside = [v for v in values if not low <= v <= high]
    if outside:
        return Verdict.fail(f"readings outside {low}..{high} were stored: {outside}")
    if not values:
        return Verdict.fail("no readings to summarise")
    expected = {"count": len(values), "min": min(values), "max": max(values), "mean": sum(values) / len(values)}
    summary = body.get("summary") or {}
    wrong = [f"{k} is {summary.get(k)!r}, the readings make {v!r}" for k, v in expected.items()
             if not isinstance(summary.get(k), (int, float)) or isinstance(summary.get(k), bool)
             or abs(summary[k] - v) > 1e-9 * max(1.0, abs(v))]
    if wrong:
        return Verdict.fail("the summary disagrees with the readings: " + "; ".join(wrong))
    return Verdict.pass_(f"summary of {len(values)} readings agrees (mean {expected['mean']:g})")


Guest = export(Iot)
