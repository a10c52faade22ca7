//! What a value made from a schema promises: it meets the whole schema, or the caller is told
//! where and why none could be made.

use super::*;

/// Unique strings numbered by place, as the plugins make them.
struct Names(usize);

impl Resolver for Names {
    fn reference(&mut self, _property: &str, _required: bool) -> Option<Value> {
        None
    }

    fn unique(&mut self, hint: &str) -> String {
        self.0 += 1;
        format!("smoke-{hint}-{}", self.0)
    }
}

fn make(schema: Value) -> Result<Value, CannotMake> {
    generate(&Standalone(&schema), &schema, "", &mut Names(0))
}

fn why(schema: Value) -> (String, Why) {
    let e = make(schema).expect_err("no value");
    (e.at, e.why)
}

#[test]
fn a_self_reference_in_all_of_adds_no_constraint() {
    let schema = json!({"type": "object", "properties": {"text": {"type": "string"}},
        "required": ["text"], "allOf": [{"$ref": "#"}]});
    assert_eq!(make(schema).unwrap(), json!({"text": "smoke-text-1"}));
}

#[test]
fn a_schema_that_is_nothing_but_itself_has_no_value() {
    let schema = json!({"$ref": "#/$defs/Loop", "$defs": {"Loop": {"allOf": [{"$ref": "#/$defs/Loop"}]}}});
    assert_eq!(why(schema).1, Why::Endless { reference: "#/$defs/Loop".into() });
    let e =
        make(json!({"$ref": "#/$defs/A", "$defs": {"A": {"$ref": "#/$defs/B"}, "B": {"$ref": "#/$defs/A"}}}))
            .unwrap_err();
    assert!(matches!(e.why, Why::Reference { .. }), "{e}");
}

#[test]
fn a_required_property_that_contains_its_own_object_has_no_value_but_an_optional_list_of_them_is_empty() {
    let node = json!({"$ref": "#/$defs/Node", "$defs": {"Node": {"type": "object", "required": ["next"],
        "properties": {"next": {"$ref": "#/$defs/Node"}}}}});
    assert_eq!(why(node), ("/next".into(), Why::Endless { reference: "#/$defs/Node".into() }));
    let tree = json!({"$ref": "#/$defs/Tree", "$defs": {"Tree": {"type": "object", "required": ["children"],
        "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Tree"}}}}}});
    assert_eq!(make(tree).unwrap(), json!({"children": []}));
}

#[test]
fn a_schema_that_expands_exponentially_stops_at_the_node_budget() {
    let mut defs = Map::new();
    for i in 0..30 {
        let next = json!({"$ref": format!("#/$defs/a{}", i + 1)});
        defs.insert(
            format!("a{i}"),
            json!({"type": "object", "required": ["l", "r"], "properties": {"l": next, "r": next}}),
        );
        defs.insert(format!("b{i}"), json!({"allOf": [{"$ref": format!("#/$defs/b{}", i + 1)}, {"$ref": format!("#/$defs/b{}", i + 1)}]}));
    }
    defs.insert("a30".into(), json!({"type": "string"}));
    defs.insert("b30".into(), json!({"type": "string"}));
    let started = std::time::Instant::now();
    for root in ["a0", "b0"] {
        let schema = json!({"$ref": format!("#/$defs/{root}"), "$defs": defs});
        assert_eq!(why(schema), (String::new(), Why::TooBig), "{root}");
        assert_eq!(
            type_of(&Standalone(&json!({"$defs": defs})), &json!({"$ref": "#/$defs/b0"})),
            Some("string".into())
        );
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
}

#[test]
fn patterns_no_value_is_found_for_say_where_and_which() {
    let (at, why) = why(json!({"type": "object", "required": ["code"], "properties": {
        "code": {"type": "string", "pattern": "^(?=.*[A-Z])(?!.*[A-Z]).+$"}}}));
    assert_eq!(at, "/code");
    assert_eq!(why, Why::PatternUnmatched { pattern: "^(?=.*[A-Z])(?!.*[A-Z]).+$".into() });
    let e = make(json!({"type": "object", "required": ["a/b"], "properties": {"a/b": {"pattern": "^(x$"}}}))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"at /a~1b: its pattern "^(x$" is not a regular expression smoke reads, so no value can be checked"#
    );
    // A pattern without a type is about strings.
    let made = make(json!({"pattern": "^[0-9]{3}$"})).unwrap();
    assert_eq!(pattern_matches("^[0-9]{3}$", made.as_str().unwrap()), Some(true), "{made}");
}

#[test]
fn lengths_formats_and_patterns_are_met_together_or_not_at_all() {
    assert_eq!(
        why(json!({"type": "string", "minLength": 5, "maxLength": 3})).1,
        Why::Lengths { min: 5, max: 3 }
    );
    assert_eq!(why(json!({"type": "string", "minLength": 100_000})).1, Why::TooLong { min: 100_000 });
    // A date is ten characters: neither padded nor cut.
    let (_, w) = why(json!({"type": "string", "format": "date", "minLength": 12}));
    assert_eq!(w, Why::FormatLength { format: "date".into(), min: 12, max: None });
    assert_eq!(
        make(json!({"type": "string", "format": "uuid", "maxLength": 36})).unwrap().as_str().map(str::len),
        Some(36)
    );
    let email = make(json!({"type": "string", "format": "email", "minLength": 40})).unwrap();
    assert!(email.as_str().is_some_and(|e| e.len() >= 40 && e.ends_with("@example.com")), "{email}");
    // The format's value where the pattern takes it, else the pattern's where it is of the format.
    assert_eq!(
        make(json!({"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"})).unwrap(),
        json!("2000-01-01")
    );
    assert_eq!(
        make(json!({"type": "string", "format": "email", "pattern": r"^[a-z]+@corp\.example$"})).unwrap(),
        json!("a@corp.example")
    );
    let (_, w) = why(json!({"type": "string", "format": "date", "pattern": "^[a-z]+$"}));
    assert_eq!(w, Why::FormatPattern { format: "date".into(), pattern: "^[a-z]+$".into() });
    // A plain string keeps within its lengths.
    assert_eq!(make(json!({"type": "string", "maxLength": 4})).unwrap(), json!("smok"));
}

#[test]
fn examples_defaults_and_enum_values_are_used_only_where_they_meet_the_schema() {
    let s =
        json!({"type": "string", "pattern": r"^(?=.*\d)[a-z\d]{4}$", "example": "abcd", "default": "ab12"});
    assert_eq!(make(s).unwrap(), json!("ab12"), "the example breaks its own pattern");
    assert_eq!(make(json!({"type": "integer", "maximum": 3, "example": 7})).unwrap(), json!(1));
    assert_eq!(make(json!({"type": "string", "maxLength": 2, "enum": ["long", "ok"]})).unwrap(), json!("ok"));
    assert_eq!(why(json!({"type": "string", "maxLength": 2, "enum": ["long"]})).1, Why::Enum);
    assert_eq!(why(json!({"type": "integer", "const": "x"})).1, Why::Enum);
    assert_eq!(make(json!({"type": "null"})).unwrap(), Value::Null);
}

#[test]
fn objects_and_arrays_keep_their_counts_names_and_uniqueness() {
    let s = json!({"type": "object", "required": ["a", "extra"], "properties": {"a": {"type": "integer"}},
        "additionalProperties": {"type": "boolean"}});
    assert_eq!(make(s).unwrap(), json!({"a": 1, "extra": true}), "required but not declared");
    let s = json!({"type": "object", "required": ["b"], "additionalProperties": false});
    assert_eq!(why(s).1, Why::Forbidden { property: "b".into() });
    let s = json!({"type": "object", "minProperties": 2, "properties": {"a": {"type": "integer"}}});
    assert_eq!(why(s).1, Why::TooFewProperties { least: 2 });
    let s = json!({"type": "object", "required": ["a"], "dependentRequired": {"a": ["b"]},
        "properties": {"a": {"type": "integer"}, "b": {"type": "boolean"}}});
    assert_eq!(make(s).unwrap(), json!({"a": 1, "b": true}));
    assert_eq!(make(json!({"type": "array", "maxItems": 0})).unwrap(), json!([]));
    assert_eq!(why(json!({"type": "array", "minItems": 3, "maxItems": 2})).1, Why::Items { min: 3, max: 2 });
    assert_eq!(why(json!({"type": "array", "minItems": 300})).1, Why::TooManyItems { min: 300 });
    let (at, w) =
        why(json!({"type": "array", "minItems": 2, "uniqueItems": true, "items": {"type": "integer"}}));
    assert_eq!((at.as_str(), w), ("", Why::NotUnique));
    assert_eq!(
        make(
            json!({"type": "array", "prefixItems": [{"type": "integer"}, {"type": "boolean"}], "minItems": 2})
        )
        .unwrap(),
        json!([1, true])
    );
}

#[test]
fn choices_fall_to_the_next_one_that_can_be_made_and_keep_the_schemas_own_keywords() {
    let s = json!({"oneOf": [{"type": "string", "minLength": 3, "maxLength": 1}, {"type": "integer"}]});
    assert_eq!(make(s).unwrap(), json!(1));
    let s = json!({"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string", "enum": ["a"]}},
        "oneOf": [{"required": ["x"], "properties": {"x": {"type": "integer"}}}]});
    assert_eq!(make(s).unwrap(), json!({"kind": "a", "x": 1}));
}

#[test]
fn keywords_a_value_is_not_made_for_are_checked_or_the_value_is_not_given() {
    assert_eq!(make(json!({"type": "integer", "not": {"enum": [2]}})).unwrap(), json!(1));
    assert_eq!(why(json!({"type": "integer", "not": {"enum": [1]}})).1, Why::NotAllowed);
    assert_eq!(why(json!({"type": "integer", "not": {"anyOf": [{"enum": [1]}]}})).1, Why::Unchecked("not"));
    assert_eq!(
        why(json!({"type": "integer", "if": {"minimum": 0}, "then": {"maximum": 0}})).1,
        Why::Unchecked("if")
    );
    let s = json!({"type": "object", "required": ["x_a"], "properties": {"x_a": {"type": "integer"}},
        "patternProperties": {"^x_": {"type": "string"}}});
    assert_eq!(why(s).1, Why::Unchecked("patternProperties"));
}

#[test]
fn the_same_schema_gives_the_same_value() {
    let s = json!({"type": "object", "required": ["p", "n"], "properties": {
        "p": {"type": "string", "pattern": r"^(?=.*[A-Z])(?=.*\d).{8,}$"}, "n": {"type": "string"}}});
    assert_eq!(make(s.clone()).unwrap(), make(s).unwrap());
}

/// A string with a pattern is distinct in each scenario and place, as one without is: a
/// service that keeps serials or codes unique refuses the second create of the same one.
#[test]
fn strings_with_a_pattern_differ_from_one_place_to_the_next_and_still_match_it() {
    for (pattern, min, max) in [
        ("^[A-Za-z0-9-]+$", 1, Some(64)),
        ("^[A-Z]{3}-\\d{4}$", 0, None),
        ("^v\\d+\\.\\d+\\.\\d+$", 0, None),
        ("^[a-z]+$", 2, Some(12)),
        ("^(?=.*[A-Z])(?=.*\\d)[A-Za-z\\d]{8,}$", 0, None),
    ] {
        let schema = json!({"type": "string", "pattern": pattern, "minLength": min, "maxLength": max});
        let schema = if max.is_none() { json!({"type": "string", "pattern": pattern}) } else { schema };
        let mut names = Names(0);
        let values: Vec<String> = (0..50)
            .map(|_| {
                let v = generate(&Standalone(&schema), &schema, "serial", &mut names).unwrap();
                v.as_str().unwrap().to_string()
            })
            .collect();
        let distinct: std::collections::BTreeSet<&String> = values.iter().collect();
        assert_eq!(distinct.len(), values.len(), "{pattern}: {values:?}");
        for v in &values {
            assert_eq!(pattern_matches(pattern, v), Some(true), "{pattern}: {v}");
            let len = v.chars().count();
            assert!(len >= min && max.is_none_or(|m| len <= m), "{pattern}: {v}");
        }
        // The same place of the same scenario gets the same value: plans stay byte-identical.
        let again = generate(&Standalone(&schema), &schema, "serial", &mut Names(0)).unwrap();
        assert_eq!(again, json!(values[0]), "{pattern}");
    }
    // A pattern of one value has one value.
    let only = json!({"type": "string", "pattern": "^ok$"});
    assert_eq!(make(only.clone()).unwrap(), json!("ok"));
}

/// A pattern shaped like a date or a time gets a real one: `0000-00-00` matches `\d{4}-\d{2}-\d{2}`
/// and no service takes it.
#[test]
fn a_date_shaped_pattern_gets_a_real_date() {
    for (pattern, want) in [
        ("^\\d{4}-\\d{2}-\\d{2}$", "2000-01-01"),
        ("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$", "2000-01-01T00:00:00Z"),
        ("^\\d{2}:\\d{2}:\\d{2}$", "00:00:00"),
    ] {
        assert_eq!(make(json!({"type": "string", "pattern": pattern})).unwrap(), json!(want), "{pattern}");
    }
}

/// A `oneOf` value matches exactly one branch; a discriminator takes its branch's tag.
#[test]
fn a_one_of_value_matches_exactly_one_branch_and_a_discriminator_names_its_branch() {
    // `{}` would match both: the value names what only its branch declares.
    let schema = json!({"oneOf": [
        {"type": "object", "properties": {"card": {"type": "string"}}, "additionalProperties": false},
        {"type": "object", "properties": {"iban": {"type": "string"}}, "additionalProperties": false}]});
    let made = make(schema).unwrap();
    let keys: Vec<&String> = made.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 1, "{made}");
    // Branches nothing can tell apart: no value is sent as valid.
    let twins = json!({"oneOf": [{"type": "object"}, {"type": "object"}]});
    assert_eq!(why(twins).1, Why::OneOfAmbiguous);
    // A required discriminator property gets the branch's name, not a made-up string.
    let tagged = json!({"oneOf": [{"$ref": "#/$defs/Cat"}], "discriminator": {"propertyName": "pet_type"},
        "$defs": {"Cat": {"type": "object", "required": ["pet_type"], "properties": {"pet_type": {"type": "string"}}}}});
    assert_eq!(make(tagged).unwrap()["pet_type"], json!("Cat"));
}

#[test]
fn a_free_string_ends_with_the_run_token_where_it_fits_and_its_pattern_takes_one() {
    struct Run(usize);
    impl Resolver for Run {
        fn reference(&mut self, _property: &str, _required: bool) -> Option<Value> {
            None
        }
        fn unique(&mut self, hint: &str) -> String {
            self.0 += 1;
            format!("smoke-{hint}-{}", self.0)
        }
        fn per_run(&self) -> Option<&str> {
            Some("{{smoke.run}}")
        }
    }
    let made = |schema: Value| generate(&Standalone(&schema), &schema, "code", &mut Run(0)).unwrap();
    assert_eq!(made(json!({"type": "string"})), json!("smoke-code-1-{{smoke.run}}"));
    assert_eq!(
        made(json!({"type": "string", "pattern": "^[a-z0-9-]+$"})),
        json!("smoke-code-1-{{smoke.run}}")
    );
    // No room, or a pattern a token may not match: unique in the run only.
    assert_eq!(made(json!({"type": "string", "maxLength": 20})), json!("smoke-code-1"));
    assert_eq!(made(json!({"type": "string", "pattern": "^[a-z-]+[0-9]$"})), json!("smoke-code-1"));
}
