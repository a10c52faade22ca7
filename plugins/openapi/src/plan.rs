//! From operations to scenarios, the way a careful tester reads a document: every operation a
//! happy path (creating what it needs first), every operation with path parameters a not-found,
//! every constrained request body one validation error per declared constraint, every secured
//! operation a request without credentials. What cannot be exercised is said, with the reason.

use crate::doc::{BodyKind, Doc, Location, Operation, sanitize, slug};
use crate::values::{self, Resolver};
use serde_json::{Value, json};
use smoke_plugin::{MultipartPart, Scenario, ScenarioKind, Step, literal};
use std::collections::BTreeMap;

/// The user's overrides.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Operation ids or `METHOD /path` not to exercise, with a reason.
    pub skip: Vec<String>,
    /// Whether the host reports scenarios tagged `skip:REASON` as skipped (`tag.skip`); without
    /// it, scenarios that cannot run are left out with a warning.
    pub planned_skips: bool,
    /// Whether the host takes an id from a captured `Location` (`{{loc|last-segment}}`, host
    /// feature `template.last-segment`), for creators that answer with no id in the body.
    pub location_ids: bool,
    /// Whether the host renders `{{smoke.run}}` (`template.run`): free strings end with it, so
    /// a second run against the same service makes no duplicates of the first's records.
    pub run_token: bool,
    /// A header sent with every request (`Authorization: Bearer ...`).
    pub auth: Option<(String, String)>,
    /// Values for parameters by name (ids known to exist, say).
    pub values: BTreeMap<String, String>,
    /// Whether a DELETE may destroy what the run did not create: a whole collection, a record
    /// the user named.
    pub destructive: bool,
    /// Whether what scenarios make is kept (no clean-up deletes at their ends).
    pub keep_data: bool,
}

/// Everything the generated plan holds, plus what was left out and why.
pub struct Generated {
    pub scenarios: Vec<Scenario>,
    pub skipped: Vec<(String, String)>,
}

/// Where a creator's response gives the new member's id.
enum IdFrom {
    /// A field of the body (`id`, `pet_id`...).
    Field(String),
    /// The last segment of the `Location` header.
    Location,
}

impl IdFrom {
    /// Capture the id into `var`; returns the step and the template that gives the id.
    fn capture(&self, step: Step, var: &str) -> (Step, String) {
        match self {
            IdFrom::Field(field) => (step.capture(var, &format!("/{field}")), format!("{{{{{var}}}}}")),
            IdFrom::Location => (step.capture_header(var, "location"), format!("{{{{{var}|last-segment}}}}")),
        }
    }
}

/// A step to create a resource, and where its id ends up.
struct Setup {
    steps: Vec<Step>,
    /// The resources this scenario made (in order), which it deletes at its end where the
    /// document has a DELETE for them.
    made: Vec<String>,
    /// Resource (singular, lowercase) to its id as a path or body takes it: a variable
    /// (`{{pet_1}}`) or, for one made by a `PUT` with an id the client names, the id itself.
    ids: BTreeMap<String, String>,
    counter: usize,
    scenario: String,
    /// Whether a step made first (a creator, a linked operation) is a secured operation.
    secured: bool,
    /// Path parameters no value is known for (the user must give them: `values`); a scenario
    /// with any is planned as skipped, saying which.
    unknown: Vec<String>,
    /// Why a value of a request could not be made valid (a pattern no value was found for, a
    /// schema that refers to itself without end): a scenario with any is planned as skipped,
    /// saying why, rather than send a value that may be wrong as a valid one.
    unmade: Vec<String>,
}

fn singular(word: &str) -> String {
    let w = word.to_ascii_lowercase();
    if let Some(stem) = w.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = w.strip_suffix("ses") {
        format!("{stem}s")
    } else if let Some(stem) = w.strip_suffix('s') {
        stem.to_string()
    } else {
        w
    }
}

/// `product_id`, `productId`, `patient_id` -> `product`...; `None` for other names.
fn referenced_resource(property: &str) -> Option<String> {
    let lower = property.to_ascii_lowercase();
    let stem = lower
        .strip_suffix("_id")
        .or_else(|| lower.strip_suffix("id").filter(|_| property.ends_with("Id")))?;
    (!stem.is_empty()).then(|| stem.trim_end_matches('_').to_string())
}

pub struct Planner<'a> {
    doc: &'a Doc,
    overrides: &'a Overrides,
    index: Index<'a>,
    /// Operation id to its body's idempotency-key property (name and schema), worked out once:
    /// flattening a big body for every request it is built into is slow.
    body_keys: std::cell::RefCell<std::collections::HashMap<String, Option<(String, Value)>>>,
}

/// An operation linking to another, with the parameters it gives (name, `$response.body#/...`).
type Link<'a> = (&'a Operation, &'a Vec<(String, String)>);

/// What the planner looks up again and again, found once (a document of 11,000 operations
/// would otherwise be searched millions of times).
#[derive(Default)]
struct Index<'a> {
    /// Collection path to the operation creating its members: a `POST` to it, else a `PUT` of one
    /// member.
    creators: std::collections::HashMap<String, &'a Operation>,
    /// Resource (singular) to its collection path.
    collections: std::collections::HashMap<String, String>,
    /// Collection path to the `GET` of one member.
    readers: std::collections::HashMap<String, &'a Operation>,
    /// Collection path to the `DELETE` of one member.
    deleters: std::collections::HashMap<String, &'a Operation>,
    /// Operation id to the operations whose success responses link to it, with the parameters.
    links: std::collections::HashMap<String, Vec<Link<'a>>>,
}

impl<'a> Index<'a> {
    fn of(doc: &'a Doc) -> Self {
        let mut index = Index::default();
        let usable = |o: &Operation| !o.success().is_empty() && o.unsupported.is_none();
        let collection_of = |o: &Operation| {
            let collection = &o.path[..o.path.rfind('/')?];
            member_of(&o.path, collection).then(|| collection.to_string())
        };
        let named = |path: &str| path.rsplit('/').next().map(singular).unwrap_or_default();
        for o in &doc.operations {
            if o.method == "POST" && usable(o) {
                index.creators.entry(o.path.clone()).or_insert(o);
            }
            if o.method == "POST" && !o.path.ends_with('}') {
                index.collections.entry(named(&o.path)).or_insert_with(|| o.path.clone());
            }
            if o.method == "GET"
                && usable(o)
                && let Some(c) = collection_of(o)
            {
                index.readers.entry(c).or_insert(o);
            }
            if o.method == "DELETE"
                && !o.success().is_empty()
                && let Some(c) = collection_of(o)
            {
                index.deleters.entry(c).or_insert(o);
            }
            for (target, params) in &o.links {
                index.links.entry(target.clone()).or_default().push((o, params));
            }
        }
        // A `PUT` of one member creates only where nothing `POST`s.
        for o in doc.operations.iter().filter(|o| o.method == "PUT" && o.path.ends_with('}')) {
            if let Some(c) = collection_of(o) {
                if usable(o) {
                    index.creators.entry(c.clone()).or_insert(o);
                }
                index.collections.entry(named(&c)).or_insert(c);
            }
        }
        index
    }
}

/// What building one request needs to know while generating values.
struct Context<'p, 'a> {
    planner: &'p Planner<'a>,
    setup: &'p mut Setup,
    depth: usize,
    failure: Option<String>,
}

impl Context<'_, '_> {
    /// Note that a value of this request could not be made valid, and why.
    fn unmade(&mut self, why: String) {
        if !self.setup.unmade.contains(&why) {
            self.setup.unmade.push(why);
        }
    }
}

impl Resolver for Context<'_, '_> {
    fn reference(&mut self, property: &str, required: bool) -> Option<Value> {
        if let Some(v) = self.planner.overrides.values.get(property) {
            return Some(Value::String(v.clone()));
        }
        let resource = referenced_resource(property)?;
        // `request_id`, `external_id`: no collection of that name, so not a reference.
        self.planner.collection_for(&resource)?;
        match self.planner.ensure(&resource, self.setup, self.depth + 1) {
            Ok(id) => Some(Value::String(id)),
            Err(e) => {
                // A generated id would name nothing: the scenario is dropped, with the reason.
                if required {
                    self.failure.get_or_insert(e);
                }
                None
            }
        }
    }

    fn unique(&mut self, hint: &str) -> String {
        self.setup.counter += 1;
        let base = if hint.is_empty() { "value" } else { hint };
        format!("smoke-{}-{}-{}", self.setup.scenario, base.to_ascii_lowercase(), self.setup.counter)
    }

    fn per_run(&self) -> Option<&str> {
        self.planner.overrides.run_token.then_some(RUN_TOKEN)
    }
}

/// The host's token of this run (host feature `template.run`), as a template.
const RUN_TOKEN: &str = "{{smoke.run}}";

impl<'a> Planner<'a> {
    pub fn new(doc: &'a Doc, overrides: &'a Overrides) -> Self {
        Planner { doc, overrides, index: Index::of(doc), body_keys: Default::default() }
    }

    fn skipped_by_config(&self, op: &Operation) -> bool {
        self.overrides.skip.iter().any(|s| s == &op.id || s.eq_ignore_ascii_case(&op.endpoint()))
    }

    /// The POST that creates members of `collection` (a path template), if there is one.
    /// Else a `PUT` of one member (`PUT /things/{id}`), which creates with an id the client names.
    fn creator(&self, collection: &str) -> Option<&'a Operation> {
        self.index.creators.get(collection).copied()
    }

    /// The collection path whose creator makes `resource` (`product` -> `/api/products`).
    fn collection_for(&self, resource: &str) -> Option<String> {
        self.index.collections.get(resource).cloned()
    }

    /// Make sure a `resource` exists in this scenario, creating it (and what it needs) first;
    /// returns the variable with its id.
    fn ensure(&self, resource: &str, setup: &mut Setup, depth: usize) -> Result<String, String> {
        if let Some(var) = setup.ids.get(resource) {
            return Ok(var.clone());
        }
        if depth > 4 {
            return Err(format!("creating a {resource} needs a chain of more than four other resources"));
        }
        let collection = self
            .collection_for(resource)
            .ok_or_else(|| format!("no operation creates a {resource}, so no {resource} id is known"))?;
        let creator =
            self.creator(&collection).ok_or_else(|| format!("nothing creates members of {collection}"))?;
        if creator.method == "PUT" {
            return self.put_create(creator, resource, setup, depth);
        }
        let var = format!("{}_{}", sanitize(resource), setup.ids.len() + 1);
        let from = self.id_from(creator, resource)?;
        let (step, _) = self.request(creator, setup, depth, None)?;
        setup.secured |= creator.secured;
        let (step, id) = from.capture(
            expect_success(step, creator).named(&format!("create a {resource} ({})", creator.endpoint())),
            &var,
        );
        setup.steps.push(step);
        setup.ids.insert(resource.to_string(), id.clone());
        setup.made.push(resource.to_string());
        Ok(id)
    }

    /// Create a `resource` with `PUT /things/{id}`, naming its id: a deterministic one, distinct
    /// per scenario, shaped by the parameter's type and format.
    fn put_create(
        &self,
        creator: &Operation,
        resource: &str,
        setup: &mut Setup,
        depth: usize,
    ) -> Result<String, String> {
        setup.counter += 1;
        // The scenario's name, hashed, keeps ids of parallel scenarios apart.
        let hash = fnv(&setup.scenario);
        let n = (hash % 1_000_000_000) * 100 + setup.counter as u64;
        let param =
            creator.path_params().last().map(|p| self.doc.deref(&p.schema).clone()).unwrap_or_default();
        let id =
            match (values::type_of(self.doc, &param).as_deref(), param.get("format").and_then(Value::as_str))
            {
                (Some("integer" | "number"), _) => (1_000_000_000_000 + n).to_string(),
                (_, Some("uuid")) => smoke_plugin::ids::seed(n % 1_000_000_000_000),
                _ => format!("smoke-{}-{}", slug(&setup.scenario), setup.counter),
            };
        let (step, _) = self.request(creator, setup, depth + 1, Some(&id))?;
        setup.secured |= creator.secured;
        setup.steps.push(
            expect_success(step, creator).named(&format!("create a {resource} ({})", creator.endpoint())),
        );
        setup.ids.insert(resource.to_string(), id.clone());
        setup.made.push(resource.to_string());
        Ok(id)
    }

    /// Where `creator`'s response gives the new member's id: a body field, else the `Location`
    /// header when one is declared and the host can take the id from it.
    fn id_from(&self, creator: &Operation, resource: &str) -> Result<IdFrom, String> {
        match self.id_field(creator, resource) {
            Ok(field) => Ok(IdFrom::Field(field)),
            Err(_) if creator.location && self.overrides.location_ids => Ok(IdFrom::Location),
            Err(e) if creator.location => Err(format!(
                "{e}; its Location header would tell, but this smoke cannot take an id from it (host feature \
                 template.last-segment)"
            )),
            Err(e) => Err(e),
        }
    }

    /// Where in `creator`'s response the new member's id is: a JSON pointer without its leading
    /// `/` (`id`, `data/id`): a field named as ids are (`id`, `RESOURCE_id`, `key`, `uuid`, or
    /// `name` or `slug` where the member's path names it so: `/buckets/{name}`), at the top or
    /// inside an envelope (`data`, `item`, `result`, or the one object property there is).
    fn id_field(&self, creator: &Operation, resource: &str) -> Result<String, String> {
        let Some(schema) = creator.success_schemas().first().map(|s| self.doc.deref(s).clone()) else {
            return Err(format!(
                "{} declares no response body, so the new {resource}'s id cannot be read from it",
                creator.endpoint()
            ));
        };
        let props = self.properties_of(&schema);
        if props.is_empty() {
            // A free-form object: `id` is the convention.
            return Ok("id".into());
        }
        // What the member's own path calls it (`/buckets/{name}`), when that is a name or slug.
        let keyed_by = self
            .reader(&creator.path)
            .and_then(|r| r.path_params().last().map(|p| p.name.to_ascii_lowercase()))
            .unwrap_or_default();
        let mut candidates = vec![
            "id".to_string(),
            format!("{resource}_id"),
            format!("{resource}Id"),
            "key".into(),
            "uuid".into(),
        ];
        for field in ["name", "slug"] {
            if keyed_by.ends_with(field) {
                candidates.push(field.into());
            }
        }
        let find = |props: &[(String, Value)]| {
            candidates.iter().find(|c| props.iter().any(|(name, _)| name == *c)).cloned()
        };
        if let Some(field) = find(&props) {
            return Ok(escape_pointer(&field));
        }
        // An envelope: `{"data": {...}}`, or the one object property there is.
        if let Some((name, inner)) = self.envelope(&schema, &[])
            && let Some(field) = find(&self.properties_of(&inner))
        {
            return Ok(format!("{}/{}", escape_pointer(&name), escape_pointer(&field)));
        }
        Err(format!(
            "the response of {} has no id field (id, {resource}_id, key, uuid, at its top or in an envelope: data, item, result)",
            creator.endpoint()
        ))
    }

    /// The envelope a response wraps its record in, when the record's fields (`fields`, what a
    /// create sends) are not at its top: its `data`, `item` or `result` property, or the one
    /// object property there is; its name and schema.
    fn envelope(&self, schema: &Value, fields: &[(String, Value)]) -> Option<(String, Value)> {
        let props = self.properties_of(schema);
        if fields.iter().any(|(f, _)| props.iter().any(|(p, _)| p == f)) {
            return None;
        }
        let objects: Vec<&(String, Value)> =
            props.iter().filter(|(_, v)| !self.properties_of(v).is_empty()).collect();
        objects
            .iter()
            .find(|(name, _)| ["data", "item", "result"].contains(&name.as_str()))
            .or_else(|| (objects.len() == 1).then(|| &objects[0]))
            .map(|(name, v)| (name.clone(), v.clone()))
    }

    /// The properties of an object schema, its `allOf`, `anyOf` and `oneOf` parts' included, each
    /// schema once (a part may refer back to the schema it is part of).
    fn properties_of(&self, schema: &Value) -> Vec<(String, Value)> {
        let mut props: Vec<(String, Value)> = Vec::new();
        let mut stack = vec![schema];
        let mut seen: Vec<*const Value> = Vec::new();
        while let Some(s) = stack.pop() {
            let s = self.doc.deref(s);
            if seen.contains(&(s as *const Value)) || seen.len() > values::MAX_NODES {
                continue;
            }
            seen.push(s);
            if let Some(p) = s.get("properties").and_then(Value::as_object) {
                props.extend(p.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            for key in ["allOf", "anyOf", "oneOf"] {
                stack.extend(s.get(key).and_then(Value::as_array).into_iter().flatten());
            }
        }
        props
    }

    /// Build the request of `op`: path parameters from resources created first (or `missing`
    /// for the last one), required query and header parameters, and a generated body.
    fn request(
        &self,
        op: &Operation,
        setup: &mut Setup,
        depth: usize,
        missing_last: Option<&str>,
    ) -> Result<(Step, Option<Value>), String> {
        let mut path = op.path.clone();
        let params = op.path_params();
        // A resource this scenario made already (a read after a write) is the one to use.
        let known = params.iter().all(|p| setup.ids.contains_key(&owner_of(&op.path, &p.name)));
        let linked = if missing_last.is_none() && !params.is_empty() && !known {
            self.follow_link(op, setup, depth)?
        } else {
            BTreeMap::new()
        };
        // The missing id goes to the last parameter that names something (not an enum, such as
        // `/export/{format}`).
        let missing_at = missing_last.and_then(|_| params.iter().rposition(|p| names_something(self.doc, p)));
        for (i, p) in params.iter().enumerate() {
            let value = if Some(i) == missing_at
                && let Some(m) = missing_last
            {
                m.to_string()
            } else if let Some(template) = linked.get(&p.name) {
                template.clone()
            } else if let Some(v) = self.overrides.values.get(&p.name) {
                v.clone()
            } else if let Some(first) =
                self.doc.deref(&p.schema).get("enum").and_then(Value::as_array).and_then(|e| e.first())
            {
                // The document lists what it may be (`/export/{format}`).
                match first {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                }
            } else {
                // The segment before {param} names the collection it belongs to.
                let prefix = &op.path[..op.path.find(&format!("{{{}}}", p.name)).unwrap_or(0)];
                let collection = prefix.trim_end_matches('/');
                let resource = collection.rsplit('/').next().map(singular).unwrap_or_default();
                match self.creator(collection) {
                    Some(_) => self.ensure_in(collection, &resource, &p.name, setup, depth)?,
                    // Only the user can say: the scenario is planned as skipped, saying so.
                    None if self.overrides.planned_skips => {
                        if !setup.unknown.contains(&p.name) {
                            setup.unknown.push(p.name.clone());
                        }
                        format!("{{{}}}", p.name)
                    }
                    None => {
                        let what = if collection.is_empty() {
                            "what it names".to_string()
                        } else {
                            format!("members of {collection}")
                        };
                        return Err(format!(
                            "no operation creates {what}, so no value for path parameter {:?} is known (give \
                             one with the `values` config, e.g. {}=...)",
                            p.name, p.name
                        ));
                    }
                }
            };
            path = path.replace(&format!("{{{}}}", p.name), &value);
        }
        let method = match op.method.as_str() {
            "GET" => Step::get(&path),
            "POST" => Step::post(&path),
            "PUT" => Step::put(&path),
            "PATCH" => Step::patch(&path),
            "DELETE" => Step::delete(&path),
            other => return Err(format!("method {other} is not one smoke sends")),
        };
        let mut step = method;
        if let Some((name, value)) = &self.overrides.auth {
            step = step.header(name, value);
        }
        let key = |schema: &Value| self.idempotency_key(&setup.scenario, op, schema);
        // An idempotency key is sent whenever one is declared, distinct per scenario: scenarios
        // run at once, and one key sent with two different requests is rightly refused.
        let header_key = op
            .params
            .iter()
            .find(|p| p.location == Location::Header && is_idempotency_key(&p.name))
            .map(|p| (p.name.clone(), key(&p.schema)));
        let body_key = self.body_key(op).map(|(name, schema)| (name, key(&schema)));
        let mut ctx = Context { planner: self, setup, depth, failure: None };
        step = self.with_parameters(step, op, &mut ctx, header_key.as_ref());
        let mut body =
            op.body.as_ref().map(|schema| match values::generate(self.doc, schema, "", &mut ctx) {
                Ok(body) => body,
                Err(e) => {
                    ctx.unmade(format!("no valid request body can be made: {e}"));
                    // Never sent: the scenario is planned as skipped.
                    json!({})
                }
            });
        if let (Some(Value::Object(fields)), Some((name, value))) = (body.as_mut(), body_key) {
            fields.insert(name, value);
        }
        if let Some(e) = ctx.failure {
            return Err(e);
        }
        if let Some(b) = &body {
            step = self.with_body(step, op, b);
        }
        if let Some(accept) = accept(op) {
            step = step.header("Accept", &accept);
        }
        Ok((step, body))
    }

    /// `step` with the query and header parameters `op` requires (and an idempotency key,
    /// `header_key`, whenever one is declared), each from `values`, its example, or generated.
    fn with_parameters(
        &self,
        step: Step,
        op: &Operation,
        ctx: &mut Context,
        header_key: Option<&(String, Value)>,
    ) -> Step {
        let sent = |p: &&crate::doc::Param| {
            p.location != Location::Path
                && (p.required || header_key.as_ref().is_some_and(|(name, _)| *name == p.name))
        };
        let mut step = step;
        for p in op.params.iter().filter(sent) {
            if p.location == Location::Header
                && self.overrides.auth.as_ref().is_some_and(|(n, _)| n.eq_ignore_ascii_case(&p.name))
            {
                continue;
            }
            let value = match (&p.example, self.overrides.values.get(&p.name)) {
                (_, Some(v)) => Value::String(v.clone()),
                _ if p.location == Location::Header && is_idempotency_key(&p.name) => {
                    header_key.as_ref().map(|(_, v)| v.clone()).unwrap_or_default()
                }
                (Some(e), None) => e.clone(),
                (None, None) => match values::generate(self.doc, &p.schema, &p.name, ctx) {
                    Ok(value) => value,
                    Err(e) => {
                        let place = if p.location == Location::Query { "query" } else { "header" };
                        ctx.unmade(format!(
                            "no valid value can be made for {place} parameter `{}`: {e}",
                            p.name
                        ));
                        Value::Null
                    }
                },
            };
            let text = |v: &Value| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            // An array goes as the document's style says: `ids=1&ids=2`, or `ids=1,2`.
            step = match (&value, p.location, p.joined) {
                (Value::Array(items), Location::Query, None) => {
                    items.iter().fold(step, |step, item| step.query(&p.name, &text(item)))
                }
                (Value::Array(items), location, joined) => {
                    let delimiter = joined.unwrap_or(',').to_string();
                    let value = items.iter().map(text).collect::<Vec<_>>().join(&delimiter);
                    match location {
                        Location::Query => step.query(&p.name, &value),
                        _ => step.header(&p.name, &value),
                    }
                }
                (other, Location::Query, _) => step.query(&p.name, &text(other)),
                (other, _, _) => step.header(&p.name, &text(other)),
            };
        }
        step
    }

    /// Whether `op` takes an idempotency key: a header or a body property.
    fn idempotency_keyed(&self, op: &Operation) -> bool {
        op.params.iter().any(|p| p.location == Location::Header && is_idempotency_key(&p.name))
            || self.body_key(op).is_some()
    }

    /// The idempotency-key property of `op`'s body, with its schema.
    fn body_key(&self, op: &Operation) -> Option<(String, Value)> {
        if let Some(known) = self.body_keys.borrow().get(&op.id) {
            return known.clone();
        }
        let found = op.body.as_ref().and_then(|b| {
            let flat = self.flatten(b);
            let (name, schema) =
                flat.get("properties")?.as_object()?.iter().find(|(k, _)| is_idempotency_key(k))?;
            Some((name.clone(), schema.clone()))
        });
        self.body_keys.borrow_mut().insert(op.id.clone(), found.clone());
        found
    }

    /// An idempotency key for `op` in `scenario`: the same in every plan, distinct per scenario,
    /// shaped by the schema (a UUID where it says so, cut to its `maxLength`).
    fn idempotency_key(&self, scenario: &str, op: &Operation, schema: &Value) -> Value {
        let schema = self.doc.deref(schema);
        let hash = fnv(&format!("{scenario}/{}", op.id));
        let mut key = match schema.get("format").and_then(Value::as_str) {
            Some("uuid") => smoke_plugin::ids::seed(hash % 1_000_000_000_000),
            _ => format!("smoke-{hash:016x}"),
        };
        let max = schema.get("maxLength").and_then(Value::as_u64).map(|m| m.max(1) as usize);
        // New in each run where it fits (a uuid cannot hold it): a key the service keeps from an
        // earlier run, for another body, would be a conflict.
        let with_run = format!("{key}-{RUN_TOKEN}");
        let uuid = schema.get("format").and_then(Value::as_str) == Some("uuid");
        if self.overrides.run_token && !uuid && max.is_none_or(|m| with_run.len() <= m) {
            key = with_run;
        }
        if let Some(max) = max {
            key.truncate(max);
        }
        Value::String(key)
    }

    /// `step` with `body` sent in the media type `op` declares: JSON, a form, or multipart parts
    /// (a `format: binary` property as a small file).
    fn with_body(&self, step: Step, op: &Operation, body: &Value) -> Step {
        let fields = || -> Vec<(String, Value)> {
            body.as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), escape_templates(v))).collect())
                .unwrap_or_default()
        };
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match op.body_kind {
            BodyKind::Json => step.json(escape_templates(body)),
            BodyKind::Form => {
                let pairs: Vec<(String, String)> =
                    fields().iter().map(|(k, v)| (k.clone(), text(v))).collect();
                let borrowed: Vec<(&str, &str)> =
                    pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                step.form(&borrowed)
            }
            BodyKind::Multipart => {
                let schema = op.body.as_ref().map(|b| self.flatten(b)).unwrap_or_default();
                let mut fields = fields();
                if fields.is_empty() {
                    // Nothing required, and a multipart body has at least one part: every declared
                    // field, else one file named `file`.
                    let declared = schema.get("properties").and_then(Value::as_object);
                    fields = declared
                        .map(|p| p.keys().map(|k| (k.clone(), json!("smoke"))).collect())
                        .unwrap_or_default();
                    if fields.is_empty() {
                        return step.multipart(vec![MultipartPart::file(
                            "file",
                            "file.bin",
                            "application/octet-stream",
                            b"smoke test file\n".to_vec(),
                        )]);
                    }
                }
                let parts = fields
                    .iter()
                    .map(|(k, v)| {
                        let declared = schema
                            .pointer(&format!("/properties/{}", k.replace('~', "~0").replace('/', "~1")));
                        let declared = declared.map(|d| self.doc.deref(d));
                        let binary = declared.is_some_and(|d| {
                            matches!(d.get("format").and_then(Value::as_str), Some("binary" | "byte"))
                                || d.get("contentMediaType").is_some()
                        });
                        // What the document's `encoding` says the part is, else OpenAPI's
                        // defaults: a file for binary, JSON for an object or an array, text.
                        // A wildcard (`image/*`) names no type a part can be sent as.
                        let encoded = op
                            .part_types
                            .iter()
                            .find(|(name, t)| name == k && !t.contains('*'))
                            .map(|(_, t)| t.as_str());
                        let json_type = |t: &str| {
                            let t = t.to_ascii_lowercase();
                            t.starts_with("application/json") || t.contains("+json")
                        };
                        if binary {
                            let media = encoded
                                .or_else(|| {
                                    declared.and_then(|d| d.get("contentMediaType")).and_then(Value::as_str)
                                })
                                .unwrap_or("application/octet-stream");
                            MultipartPart::file(k, &format!("{k}.bin"), media, b"smoke test file\n".to_vec())
                        } else if encoded.is_some_and(json_type) || v.is_object() || v.is_array() {
                            // An object or array part is JSON, whatever other type the document
                            // gives it (its text would be JSON, labelled something else).
                            let mut part = MultipartPart::text(k, &v.to_string());
                            let json = encoded.filter(|t| json_type(t)).unwrap_or("application/json");
                            part.content_type = Some(json.to_string());
                            part
                        } else {
                            let mut part = MultipartPart::text(k, &text(v));
                            part.content_type = encoded.map(String::from);
                            part
                        }
                    })
                    .collect();
                step.multipart(parts)
            }
        }
    }

    /// Where a link's runtime expression takes a value from, when this host can take it.
    fn link_source(&self, expression: &str) -> Option<IdFrom> {
        if let Some(pointer) = expression.strip_prefix("$response.body#/") {
            return Some(IdFrom::Field(pointer.to_string()));
        }
        let header = expression.strip_prefix("$response.header.")?;
        (header.eq_ignore_ascii_case("location") && self.overrides.location_ids).then_some(IdFrom::Location)
    }

    /// When another operation's success response links to `op` (OpenAPI links), run that one
    /// first and take `op`'s path parameters from its response, as the document says. Returns
    /// each parameter's template.
    fn follow_link(
        &self,
        op: &Operation,
        setup: &mut Setup,
        depth: usize,
    ) -> Result<BTreeMap<String, String>, String> {
        if depth > 4 {
            return Ok(BTreeMap::new());
        }
        let path_names: Vec<String> = op.path_params().iter().map(|p| p.name.clone()).collect();
        let source = self.index.links.get(&op.id).into_iter().flatten().copied().find(|(from, params)| {
            let covers = path_names
                .iter()
                .all(|n| params.iter().any(|(k, e)| k == n && self.link_source(e).is_some()));
            covers && from.id != op.id
        });
        let Some((from, params)) = source else { return Ok(BTreeMap::new()) };
        let (step, _) = self.request(from, setup, depth + 1, None)?;
        setup.secured |= from.secured;
        let mut step =
            expect_success(step, from).named(&format!("{} (linked to {})", from.endpoint(), op.id));
        let mut vars = BTreeMap::new();
        for (name, expression) in params {
            if !path_names.contains(name) {
                continue;
            }
            let Some(source) = self.link_source(expression) else { continue };
            setup.counter += 1;
            let var = format!("link_{}_{}", sanitize(name), setup.counter);
            let (captured, template) = source.capture(step, &var);
            step = captured;
            vars.insert(name.clone(), template);
        }
        setup.steps.push(step);
        Ok(vars)
    }

    /// `ensure`, for a collection found from a path rather than a property name.
    fn ensure_in(
        &self,
        collection: &str,
        resource: &str,
        param: &str,
        setup: &mut Setup,
        depth: usize,
    ) -> Result<String, String> {
        if let Some(id) = setup.ids.get(resource) {
            return Ok(id.clone());
        }
        let creator =
            self.creator(collection).ok_or_else(|| format!("nothing creates members of {collection}"))?;
        if creator.method == "PUT" {
            return self.put_create(creator, resource, setup, depth);
        }
        let var = format!("{}_{}", sanitize(resource), setup.ids.len() + 1);
        let (step, body) = self.request(creator, setup, depth + 1, None)?;
        setup.secured |= creator.secured;
        // A member of a nested collection (`/carts/{id}/items`) may be named by what was sent
        // (`product_id`) rather than by an id in the response.
        let step =
            expect_success(step, creator).named(&format!("create a {resource} ({})", creator.endpoint()));
        // The body field named like the path parameter (`product_id`), else one naming the
        // resource (`item_id`).
        let sent_ref = body.as_ref().and_then(|b| b.as_object()).and_then(|b| {
            b.get(param).and_then(Value::as_str).map(String::from).or_else(|| {
                b.iter().find_map(|(k, v)| {
                    let r = referenced_resource(k)?;
                    (r == *resource).then(|| v.as_str().map(String::from)).flatten()
                })
            })
        });
        match sent_ref.filter(|v| v.starts_with("{{") && v.ends_with("}}")) {
            Some(existing) => {
                setup.steps.push(step);
                setup.ids.insert(resource.to_string(), existing.clone());
                Ok(existing)
            }
            None => {
                let (step, id) = self.id_from(creator, resource)?.capture(step, &var);
                setup.steps.push(step);
                setup.ids.insert(resource.to_string(), id.clone());
                setup.made.push(resource.to_string());
                Ok(id)
            }
        }
    }

    fn new_setup(&self, scenario: &str) -> Setup {
        Setup {
            steps: Vec::new(),
            made: Vec::new(),
            ids: BTreeMap::new(),
            counter: 0,
            scenario: scenario.to_string(),
            secured: false,
            unknown: Vec::new(),
            unmade: Vec::new(),
        }
    }

    pub fn generate(&self) -> Generated {
        let mut scenarios = Vec::new();
        let mut skipped = Vec::new();
        for op in &self.doc.operations {
            if self.skipped_by_config(op) {
                skipped.push((op.endpoint(), "skipped by the `skip` config".to_string()));
                continue;
            }
            if let Some(why) = &op.unsupported {
                skipped.push((op.endpoint(), why.clone()));
                continue;
            }
            if let Some(why) = self.destroys_what_it_did_not_create(op) {
                let reason = format!(
                    "{why}: not sent, since a smoke test never destroys data it did not create (set \
                     --plugin-config destructive=true to test it)"
                );
                if self.overrides.planned_skips {
                    let s = Scenario::happy_path(&self.id(op, "happy"), &op.endpoint())
                        .describe(&format!("{} answers as documented", op.endpoint()))
                        .step(
                            expect_success(Step::delete(&op.path), op)
                                .named(&format!("{} (not sent)", op.endpoint())),
                        )
                        .tag(&format!("skip:{reason}"));
                    scenarios.push(s);
                } else {
                    skipped.push((op.endpoint(), reason));
                }
                continue;
            }
            let (mine, not_planned) = self.operation(op);
            for (kind, why) in &not_planned {
                if let Some(why) = why.strip_prefix(SAY) {
                    let what = match *kind {
                        "happy-path" => "no happy path",
                        "validation-error" => "no validation errors",
                        "business-rule" => "no state checks",
                        "auth" => "no auth check",
                        "load" => "no rate-limit probe",
                        _ => "no not-found",
                    };
                    skipped.push((op.endpoint(), format!("{what}: {why}")));
                }
            }
            scenarios.extend(with_not_planned(mine, &not_planned));
        }
        self.last_of_all(&mut scenarios);
        Generated { scenarios, skipped }
    }

    /// With `destructive`, a DELETE on a collection runs after every scenario under that
    /// collection's path (it depends on each): it deletes what they read. (One of them failing
    /// skips it, in a run that fails anyway.)
    fn last_of_all(&self, scenarios: &mut [Scenario]) {
        if !self.overrides.destructive {
            return;
        }
        let path_of = |endpoint: &str| endpoint.split_once(' ').map_or(String::new(), |(_, p)| p.to_string());
        for op in self.doc.operations.iter().filter(|o| o.method == "DELETE") {
            if op.path_params().iter().any(|p| names_something(self.doc, p)) {
                continue;
            }
            let own = format!("openapi.{}.", op.id);
            let under = |endpoint: &str| {
                let path = path_of(endpoint);
                path == op.path || path.starts_with(&format!("{}/", op.path.trim_end_matches('/')))
            };
            let before: Vec<String> = scenarios
                .iter()
                .filter(|s| !s.id.starts_with(&own) && under(&s.endpoint))
                .map(|s| s.id.clone())
                .collect();
            for s in scenarios.iter_mut().filter(|s| s.id.starts_with(&own)) {
                s.depends_on.extend(before.iter().cloned());
            }
        }
    }

    /// Why a DELETE would destroy what the run did not create, unless `destructive` allows it: one
    /// on a collection (no path parameter names a member), or on a record whose id the user gave
    /// (`values`) rather than one a scenario creates.
    fn destroys_what_it_did_not_create(&self, op: &Operation) -> Option<String> {
        if op.method != "DELETE" || self.overrides.destructive {
            return None;
        }
        let params = op.path_params();
        let Some(last) = params.iter().rev().find(|p| names_something(self.doc, p)) else {
            return Some("a DELETE on a collection, with no id of a record the run made".to_string());
        };
        if self.overrides.values.contains_key(&last.name) {
            return Some(format!(
                "it would delete the record `{}` names (values), which the run did not make",
                last.name
            ));
        }
        let prefix = &op.path[..op.path.find(&format!("{{{}}}", last.name)).unwrap_or(0)];
        match self.creator(prefix.trim_end_matches('/')) {
            Some(_) => None,
            None => Some(format!(
                "no operation creates what `{}` names, so it would delete a record the run did not make",
                last.name
            )),
        }
    }

    /// The scenarios of one operation, and the kinds of check it gets none of, with why (a reason
    /// starting with [`SAY`] is also logged as a coverage warning).
    fn operation(&self, op: &Operation) -> (Vec<Scenario>, Vec<(&'static str, String)>) {
        let mut mine = Vec::new();
        let mut not_planned = Vec::new();
        let said = |kind: &'static str, why: String| (kind, format!("{SAY}{why}"));
        match self.happy(op) {
            Ok(s) => mine.push(s),
            Err(why) => not_planned.push(said("happy-path", why)),
        }
        let params = op.path_params();
        if !params.is_empty() {
            match self.not_found(op) {
                Ok(Some(s)) => mine.push(s),
                Ok(None) if !op.statuses().contains(&404) => not_planned.push((
                    "not-found",
                    format!(
                        "it declares no 404, so a request naming a {} that does not exist has no documented answer \
                         to check (declare 404 in the document to have it checked)",
                        params.last().map_or("record", |p| p.name.as_str())
                    ),
                )),
                Ok(None) => not_planned.push((
                    "not-found",
                    "none of its path parameters names a record (an id, a key, a name)".to_string(),
                )),
                Err(why) => not_planned.push(said("not-found", why)),
            }
        }
        match self.invalid(op) {
            Ok(list) => mine.extend(list),
            Err(why) => not_planned.push(said("validation-error", why)),
        }
        match self.not_a_number(op) {
            Ok(Some(s)) => mine.push(s),
            Ok(None) => {}
            Err(why) => not_planned.push(said("validation-error", why)),
        }
        match self.invalid_query(op) {
            Ok(list) => mine.extend(list),
            Err(why) => not_planned.push(said("validation-error", why)),
        }
        match self.stateful(op) {
            Ok(list) => mine.extend(list),
            Err(why) => not_planned.push(said("business-rule", why)),
        }
        match self.rate_limited(op) {
            Ok(Some(s)) => mine.push(s),
            Ok(None) => {}
            Err(why) => not_planned.push(("load", why)),
        }
        if op.secured {
            for probe in [self.unauthenticated(op), self.wrong_token(op)] {
                match probe {
                    Ok(Some(s)) => mine.push(s),
                    Ok(None) => {}
                    Err(why) => not_planned.push(said("auth", why)),
                }
            }
        } else {
            not_planned.push((
                "auth",
                "the document declares no security for it, so no request without credentials was sent \
                 (declare securitySchemes and security to have it checked)"
                    .to_string(),
            ));
        }
        (mine, not_planned)
    }

    /// The operation that reads one member of the collection `collection` (`GET /things/{id}`).
    fn reader(&self, collection: &str) -> Option<&'a Operation> {
        self.index.readers.get(collection).copied()
    }

    /// What the document says about state, checked: a created resource reads back as sent; a
    /// deleted one is gone; a reference to a resource that does not exist is refused.
    fn stateful(&self, op: &Operation) -> Result<Vec<Scenario>, String> {
        let mut out = Vec::new();
        if op.method == "POST" && !op.path.ends_with('}') && op.body.is_some() {
            out.extend(self.read_after_write(op)?);
            out.extend(self.listed(op)?);
            out.extend(self.duplicate(op)?);
        }
        if op.method == "DELETE" && op.path.ends_with('}') {
            out.extend(self.delete_then_get(op)?);
        }
        if matches!(op.method.as_str(), "POST" | "PUT" | "PATCH") {
            out.extend(self.empty_refused(op)?);
        }
        if op.body.is_some() && matches!(op.method.as_str(), "POST" | "PUT" | "PATCH") {
            out.extend(self.unknown_references(op)?);
        }
        if matches!(op.method.as_str(), "POST" | "PUT") {
            out.extend(self.repeat(op)?);
        }
        Ok(out)
    }

    /// The same request sent twice, where the document says what a repeat does.
    ///
    /// - With an idempotency key (an `Idempotency-Key` header, an `idempotency_key` property), the
    ///   repeat is a replay: it succeeds and names the same member as the first.
    /// - A create-or-update (201 declared with 200 or 204) whose member the client names (a `PUT`
    ///   to the member's path, or a body property that the 201's link reads back, such as `key`)
    ///   updates the second time: it does not answer 201 again.
    fn repeat(&self, op: &Operation) -> Result<Option<Scenario>, String> {
        let success = op.success();
        let keyed = self.idempotency_keyed(op);
        let sent: Vec<String> = op
            .body
            .as_ref()
            .and_then(|b| {
                self.flatten(b)
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|p| p.keys().cloned().collect())
            })
            .unwrap_or_default();
        let named_by_client = (op.method == "PUT" && op.path.ends_with('}'))
            || op.links.iter().flat_map(|(_, params)| params).any(|(_, expression)| {
                expression
                    .strip_prefix("$response.body#/")
                    .is_some_and(|field| sent.iter().any(|s| s == field))
            });
        let upsert =
            success.contains(&201) && success.iter().any(|s| matches!(s, 200 | 204)) && named_by_client;
        if !keyed && !upsert {
            return Ok(None);
        }
        let mut setup = self.new_setup(&format!("{}-repeat", op.id));
        let (step, _) = self.request(op, &mut setup, 0, None)?;
        let mut first = expect_success(step.clone(), op).named(&format!("send it ({})", op.endpoint()));
        let mut again = step.named(&format!("send the same request again ({})", op.endpoint()));
        let (suffix, description) = if keyed {
            again = expect_success(again, op);
            let resource = op.path.rsplit('/').next().map(singular).unwrap_or_default();
            match self.id_field(op, &resource) {
                Ok(field) => {
                    let var = format!("first_{}", sanitize(&resource));
                    let pointer = format!("/{field}");
                    first = first.capture(&var, &pointer);
                    again = again.expect_eq(&pointer, json!(format!("{{{{{var}}}}}")));
                    (
                        "idempotent-replay",
                        format!(
                            "sent twice with one idempotency key, {} answers the same {field} both times",
                            op.endpoint()
                        ),
                    )
                }
                Err(_) => (
                    "idempotent-replay",
                    format!("sent twice with one idempotency key, {} succeeds both times", op.endpoint()),
                ),
            }
        } else {
            for s in success.iter().filter(|s| **s != 201) {
                again = again.expect_status(*s);
            }
            (
                "upsert",
                format!(
                    "{} creates or updates what the client names: the same request again updates, it does not create (201) a second",
                    op.endpoint()
                ),
            )
        };
        let needs = op.secured || setup.secured;
        let scenario = Scenario::business_rule(&self.id(op, suffix), &op.endpoint()).describe(&description);
        self.assemble(scenario, setup, vec![first, again], needs).map(Some)
    }

    /// After a create, the member's read answers the scalar properties that were sent.
    fn read_after_write(&self, op: &Operation) -> Result<Option<Scenario>, String> {
        let Some(reader) = self.reader(&op.path) else { return Ok(None) };
        let resource = op.path.rsplit('/').next().map(singular).unwrap_or_default();
        let Ok(from) = self.id_from(op, &resource) else { return Ok(None) };
        let Some(read_schema) = reader.success_schemas().first().map(|s| self.flatten(s)) else {
            return Ok(None);
        };
        // What the member's read holds, inside its envelope when it has one (`{"data": {...}}`).
        let sent_props = op.body.as_ref().map(|b| self.properties_of(b)).unwrap_or_default();
        let (at, read_schema) = match self.envelope(&read_schema, &sent_props) {
            Some((name, inner)) => (format!("/{}", escape_pointer(&name)), self.flatten(&inner)),
            None => (String::new(), read_schema),
        };
        let readable: Vec<String> = read_schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| {
                p.iter()
                    .filter(|(_, v)| {
                        self.doc.deref(v).get("writeOnly").and_then(Value::as_bool) != Some(true)
                    })
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default();
        let sent_schema = op.body.as_ref().map(|b| self.flatten(b)).unwrap_or_default();
        let write_only = |k: &str| {
            sent_schema
                .pointer(&format!("/properties/{}", k.replace('~', "~0").replace('/', "~1")))
                .map(|v| self.doc.deref(v))
                .and_then(|v| v.get("writeOnly"))
                .and_then(Value::as_bool)
                == Some(true)
        };
        let mut setup = self.new_setup(&format!("{}-raw", op.id));
        let (step, body) = self.request(op, &mut setup, 0, None)?;
        let Some(Value::Object(sent)) = body else { return Ok(None) };
        let checks: Vec<(String, Value)> = sent
            .iter()
            .filter(|(k, v)| {
                (v.is_string() || v.is_number() || v.is_boolean()) && readable.contains(k) && !write_only(k)
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if checks.is_empty() {
            return Ok(None);
        }
        let var = format!("created_{}", sanitize(&resource));
        let (step, id) = from.capture(
            expect_success(step, op).named(&format!("create a {resource} ({})", op.endpoint())),
            &var,
        );
        setup.steps.push(step);
        setup.secured |= op.secured;
        setup.ids.insert(resource.clone(), id);
        setup.made.push(resource.clone());
        let (read, _) = self.request(reader, &mut setup, 0, None)?;
        let mut read = expect_success(read, reader).named(&format!("read it back ({})", reader.endpoint()));
        for (k, v) in &checks {
            read = read.expect_eq(&format!("{at}/{}", escape_pointer(k)), escape_templates(v));
        }
        let needs = op.secured || reader.secured || setup.secured;
        let scenario = Scenario::business_rule(&self.id(op, "read-after-write"), &op.endpoint()).describe(
            &format!("a {resource} made by {} reads back from {} as sent", op.endpoint(), reader.endpoint()),
        );
        self.assemble(scenario, setup, vec![read], needs).map(Some)
    }

    /// A record a create made is in the list that holds it: the `GET` on the create's own path
    /// (`POST /devices/{id}/readings`, then `GET /devices/{id}/readings`), or an operation the
    /// create's success response links to (OpenAPI links) whose answer is a list. Only a list
    /// scoped by a record this scenario made (the readings of its own device): the list of a
    /// whole collection may be paged, with the new member on a later page.
    fn listed(&self, op: &Operation) -> Result<Option<Scenario>, String> {
        let resource = op.path.rsplit('/').next().map(singular).unwrap_or_default();
        // Stored when answered: not accepted for later (202 alone), nor answered by a container
        // holding a list of its own (`POST /carts/{id}/items` answering the cart: its id is the
        // cart's).
        let holds_a_list = |s: &&Value| {
            self.properties_of(s)
                .iter()
                .any(|(_, v)| schema_values::types(self.doc.deref(v)).contains(&"array"))
        };
        if op.success().iter().all(|s| *s == 202) || op.success_schemas().iter().any(holds_a_list) {
            return Ok(None);
        }
        let Ok(IdFrom::Field(pointer)) = self.id_from(op, &resource) else { return Ok(None) };
        let field = pointer.rsplit('/').next().unwrap_or_default().replace("~1", "/").replace("~0", "~");
        let get = |id: &str, path: Option<&str>| {
            self.doc.operations.iter().find(|o| {
                o.method == "GET" && path.is_none_or(|p| o.path == p) && (path.is_some() || o.id == id)
            })
        };
        let candidates = get("", Some(&op.path)).map(|o| (o, &[][..])).into_iter().chain(
            op.links.iter().filter_map(|(target, params)| Some((get(target, None)?, params.as_slice()))),
        );
        for (lister, params) in candidates {
            // A list of what the create makes (`.../snapshots` for `record_balance_snapshot`),
            // scoped by a path parameter, filtered by nothing the plan would make up, never one
            // keyed by the new record itself (`/orders/{id}/items` linked from an order's create).
            let what = lister.path.rsplit('/').next().map(singular).unwrap_or_default();
            let by_itself =
                params.iter().any(|(_, e)| e.strip_prefix("$response.body#/") == Some(pointer.as_str()));
            let filtered = lister.params.iter().any(|p| p.required && p.location != Location::Path);
            if what.is_empty() || !resource.ends_with(&what) || by_itself || filtered {
                continue;
            }
            let members = lister.success_schemas().first().and_then(|s| self.list_in(s));
            let Some((at, members)) = members.filter(|_| !lister.path_params().is_empty()) else { continue };
            if !self.properties_of(&members).iter().any(|(name, _)| *name == field) {
                continue;
            }
            let mut setup = self.new_setup(&format!("{}-listed", op.id));
            let (step, _) = self.request(op, &mut setup, 0, None)?;
            let var = format!("listed_{}", sanitize(&resource));
            let mut step = expect_success(step, op)
                .named(&format!("create a {resource} ({})", op.endpoint()))
                .capture(&var, &format!("/{pointer}"));
            // The list's path: what the link takes from the create's answer, else the records
            // this scenario made (never a record made for the list alone: not where it went).
            for (name, expression) in params {
                let owner = owner_of(&lister.path, name);
                if let Some(IdFrom::Field(from)) = self.link_source(expression)
                    && !setup.ids.contains_key(&owner)
                {
                    setup.counter += 1;
                    let linked = format!("link_{}_{}", sanitize(name), setup.counter);
                    step = step.capture(&linked, &format!("/{from}"));
                    setup.ids.insert(owner, format!("{{{{{linked}}}}}"));
                }
            }
            if !lister.path_params().iter().all(|p| setup.ids.contains_key(&owner_of(&lister.path, &p.name)))
            {
                continue;
            }
            setup.steps.push(step);
            setup.secured |= op.secured;
            setup.ids.insert(resource.clone(), format!("{{{{{var}}}}}"));
            setup.made.push(resource.clone());
            let (list, _) = self.request(lister, &mut setup, 0, None)?;
            let list = expect_success(list, lister)
                .named(&format!("list them ({})", lister.endpoint()))
                .check(json!({"rule": crate::LISTED, "list": at, "field": field, "variable": var}));
            let needs = op.secured || lister.secured || setup.secured;
            let scenario =
                Scenario::business_rule(&self.id(op, "listed"), &op.endpoint()).describe(&format!(
                    "a {resource} made by {} is in the list {} answers",
                    op.endpoint(),
                    lister.endpoint()
                ));
            return self.assemble(scenario, setup, vec![list], needs).map(Some);
        }
        Ok(None)
    }

    /// Where a list answer holds its members, and their schema: the answer itself when it is an
    /// array, else its array property named `items`, `data` or `results`, or its one array
    /// property. A JSON pointer.
    fn list_in(&self, schema: &Value) -> Option<(String, Value)> {
        let items = |array: &Value| self.doc.deref(array).get("items").cloned().unwrap_or_else(|| json!({}));
        let schema = self.flatten(schema);
        if schema.get("type").and_then(Value::as_str) == Some("array") {
            return Some((String::new(), items(&schema)));
        }
        let arrays: Vec<(String, Value)> = self
            .properties_of(&schema)
            .into_iter()
            .filter(|(_, v)| self.doc.deref(v).get("type").and_then(Value::as_str) == Some("array"))
            .collect();
        let (name, array) = arrays
            .iter()
            .find(|(name, _)| ["items", "data", "results"].contains(&name.as_str()))
            .or_else(|| (arrays.len() == 1).then(|| &arrays[0]))?;
        Some((format!("/{}", escape_pointer(name)), items(array)))
    }

    /// A collection whose create declares 409 has something unique in its members: the same
    /// create sent twice gets 409 the second time.
    ///
    /// Not where a repeat is a replay (an idempotency key), nor where the 409 says it is about
    /// something else than a duplicate (a version, a state, a lock).
    fn duplicate(&self, op: &Operation) -> Result<Option<Scenario>, String> {
        let about_something_else = |description: &str| {
            let d = description.to_ascii_lowercase();
            ["idempot", "version", "etag", "if-match", "lock", "concurren", "modified", "state", "status"]
                .iter()
                .any(|word| d.contains(word))
        };
        if op.said(409).is_none_or(about_something_else)
            || self.idempotency_keyed(op)
            || self.reader(&op.path).is_none()
        {
            return Ok(None);
        }
        let mut setup = self.new_setup(&format!("{}-twice", op.id));
        let (step, _) = self.request(op, &mut setup, 0, None)?;
        let first = expect_success(step.clone(), op).named(&format!("create ({})", op.endpoint()));
        let first = self.to_clean_up(op, first, &mut setup);
        let again = step.named(&format!("the same create again ({})", op.endpoint())).expect_status(409);
        let needs = op.secured || setup.secured;
        let scenario = Scenario::business_rule(&self.id(op, "duplicate"), &op.endpoint()).describe(&format!(
            "{} declares 409: the same create sent twice is refused the second time",
            op.endpoint()
        ));
        self.assemble(scenario, setup, vec![first, again], needs).map(Some)
    }

    /// An operation on a record, which the document says refuses an empty one (a 4xx described
    /// as "the cart is empty"), sent on a record fresh from a creator that takes nothing (so
    /// holds nothing): it must answer that status, not act on nothing.
    fn empty_refused(&self, op: &Operation) -> Result<Option<Scenario>, String> {
        // Only an operation that sends nothing (so "empty" is not about its body), where the
        // refusal says the record itself is empty ("the cart is empty").
        let Some(param) = op.path_params().last().copied().filter(|_| op.body.is_none()) else {
            return Ok(None);
        };
        let resource = owner_of(&op.path, &param.name);
        // "Empty", about the record, and not negated ("the queue is not empty", "non-empty").
        let empty = |d: &str| {
            let d = d.to_ascii_lowercase();
            let words: Vec<String> = d.split(|c: char| !c.is_ascii_alphabetic()).map(singular).collect();
            let negated = ["not empty", "non-empty", "nonempty", "non empty", "isn't empty", "not be empty"]
                .iter()
                .any(|n| d.contains(n));
            words.iter().any(|w| w == "empty") && words.contains(&resource) && !negated
        };
        let refusals: Vec<&(u16, String)> = op.refusals.iter().filter(|(_, d)| empty(d)).collect();
        let Some((_, description)) = refusals.first() else { return Ok(None) };
        let collection =
            op.path[..op.path.find(&format!("{{{}}}", param.name)).unwrap_or(0)].trim_end_matches('/');
        // A creator given nothing at all (no body, no required query or header): what it makes
        // holds nothing.
        let given_nothing = |c: &&Operation| {
            c.method == "POST"
                && c.body.is_none()
                && !c.params.iter().any(|p| p.required && p.location != Location::Path)
        };
        let Some(creator) = self.creator(collection).filter(given_nothing) else { return Ok(None) };
        let mut setup = self.new_setup(&format!("{}-empty", op.id));
        self.ensure_in(collection, &resource, &param.name, &mut setup, 0)?;
        let (step, _) = self.request(op, &mut setup, 0, None)?;
        let mut step =
            step.named(&format!("{} on a {resource} just made, with nothing in it", op.endpoint()));
        let statuses: Vec<u16> = refusals.iter().map(|(s, _)| *s).collect();
        for status in &statuses {
            step = step.expect_status(*status);
        }
        let scenario = Scenario::business_rule(&self.id(op, "empty"), &op.endpoint()).describe(&format!(
            "{} on an empty {resource} (made by {}, which takes nothing) answers {}, as the document says: {description:?}",
            op.endpoint(),
            creator.endpoint(),
            list(&statuses)
        ));
        let needs = op.secured || setup.secured;
        self.assemble(scenario, setup, vec![step], needs).map(Some)
    }

    /// A client past its rate limit is refused with 429, where the document declares 429 and
    /// names the header that tells the limit who the client is (`X-Client-Id`): the request is
    /// repeated from a client of the probe's own, every 5 ms for at most 10 s, until a 429 comes.
    /// One probe per limit (operations whose 429s say the same share one budget), on a read where
    /// one shares it. Without such a header a probe would limit every client at this address
    /// (the other scenarios, other users): not planned, saying so (the `Err`).
    fn rate_limited(&self, op: &Operation) -> Result<Option<Scenario>, String> {
        let Some(said) = op.said(429) else { return Ok(None) };
        let sharing: Vec<&Operation> = self
            .doc
            .operations
            .iter()
            .filter(|o| o.said(429) == Some(said) && o.unsupported.is_none() && !self.skipped_by_config(o))
            .collect();
        // Repeated hundreds of times, so never one that could make a record each time: a read,
        // else an operation on one record whose repeat the document says is a conflict (409).
        let repeatable = |o: &&&Operation| {
            matches!(o.method.as_str(), "GET" | "HEAD")
                || (!o.path_params().is_empty() && o.statuses().contains(&409))
        };
        let chosen = sharing
            .iter()
            .filter(repeatable)
            .find(|o| o.method == "GET" && o.path_params().is_empty())
            .or_else(|| sharing.iter().filter(repeatable).find(|o| o.method == "GET"))
            .or_else(|| sharing.iter().find(repeatable));
        let Some(chosen) = chosen else {
            return match sharing.first().is_some_and(|first| first.id == op.id) {
                true => Err(format!(
                    "it declares 429 ({said:?}), but repeating it could make a record each time (not a read, nor \
                     an operation on one record whose repeat is a conflict), so no probe was sent"
                )),
                false => Ok(None),
            };
        };
        if chosen.id != op.id {
            return Ok(None);
        }
        let auth = self.overrides.auth.as_ref().map(|(name, _)| name.to_ascii_lowercase());
        let client = op.params.iter().find(|p| {
            p.location == Location::Header
                && names_the_client(p)
                && auth.as_deref() != Some(&p.name.to_ascii_lowercase())
        });
        let Some(client) = client else {
            return Err(format!(
                "it declares 429 ({said:?}), but no header naming the client to the limit (such as X-Client-Id): \
                 a probe would limit every client at this address, so none was sent"
            ));
        };
        let mut setup = self.new_setup(&format!("{}-rate-limited", op.id));
        let (step, _) = self.request(op, &mut setup, 0, None)?;
        let probe = match self.doc.deref(&client.schema).get("format").and_then(Value::as_str) {
            Some("uuid") => {
                let h = fnv(&op.id);
                format!("{:08x}-0000-4000-8000-{:012x}", h >> 32, h & 0xffff_ffff_ffff)
            }
            _ => format!("smoke-rate-limit-probe-{}", sanitize(&op.id)),
        };
        let step = without_header(step, &client.name)
            .header(&client.name, &probe)
            .named(&format!("{} from one client, again and again (up to 10 s)", op.endpoint()))
            .expect_status(429)
            .poll(5, 10_000);
        let scenario = Scenario::load(&self.id(op, "rate-limited"), &op.endpoint()).describe(&format!(
            "{} declares 429 ({said:?}): one client ({} {probe}) repeating it is refused with 429 within 10 s",
            op.endpoint(),
            client.name
        ));
        let needs = op.secured || setup.secured;
        self.assemble(scenario, setup, vec![step], needs).map(Some)
    }

    /// After a delete succeeds, reading the member answers its declared not-found status.
    fn delete_then_get(&self, op: &Operation) -> Result<Option<Scenario>, String> {
        let collection = &op.path[..op.path.rfind('/').unwrap_or(0)];
        let Some(reader) = self.reader(collection).filter(|r| r.path == op.path) else { return Ok(None) };
        let gone: Vec<u16> = reader.statuses().into_iter().filter(|s| *s == 404 || *s == 410).collect();
        if gone.is_empty() || op.success().is_empty() {
            return Ok(None);
        }
        let mut setup = self.new_setup(&format!("{}-gone", op.id));
        let (delete, _) = self.request(op, &mut setup, 0, None)?;
        let delete = expect_success(delete, op).named(&format!("delete it ({})", op.endpoint()));
        let (read, _) = self.request(reader, &mut setup, 0, None)?;
        let mut read = read.named(&format!("read it after the delete ({})", reader.endpoint()));
        for s in &gone {
            read = read.expect_status(*s);
        }
        let resource = collection.rsplit('/').next().map(singular).unwrap_or_default();
        let needs = op.secured || reader.secured || setup.secured;
        let scenario =
            Scenario::business_rule(&self.id(op, "delete-then-get"), &op.endpoint()).describe(&format!(
                "a {resource} deleted by {} is gone ({} answers {})",
                op.endpoint(),
                reader.endpoint(),
                list(&gone)
            ));
        self.assemble(scenario, setup, vec![delete, read], needs).map(Some)
    }

    /// A body naming a resource that does not exist (`account_id` set to an id no server has)
    /// gets a declared 4xx: neither accepted nor a crash.
    fn unknown_references(&self, op: &Operation) -> Result<Vec<Scenario>, String> {
        let refused: Vec<u16> =
            op.statuses().into_iter().filter(|s| matches!(s, 400 | 404 | 409 | 422)).collect();
        let Some(schema) = op.body.as_ref().map(|b| self.flatten(b)) else { return Ok(Vec::new()) };
        if refused.is_empty() || op.body_kind != BodyKind::Json {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        // A request made once, to find where its body names other resources (`account_id`, also
        // inside arrays of objects such as `postings/0/account_id`).
        let mut probe = self.new_setup(&format!("{}-unknown", op.id));
        let Ok((_, Some(sample))) = self.request(op, &mut probe, 0, None) else { return Ok(Vec::new()) };
        let mut found: Vec<(String, String, Value)> = Vec::new();
        self.references_in(&sample, &schema, "", 0, &mut found);
        for (pointer, name, sub) in found {
            let Some(resource) = referenced_resource(&name) else { continue };
            if out.len() >= PER_CONSTRAINT_KIND {
                break;
            }
            let suffix = pointer.trim_start_matches('/').replace('/', ".");
            let mut setup = self.new_setup(&format!("{}-unknown-{}", op.id, suffix.replace(['_', '.'], "-")));
            let Ok((step, Some(mut body))) = self.request(op, &mut setup, 0, None) else { continue };
            let missing = missing_value(self.doc, &sub);
            let missing = match values::type_of(self.doc, &sub).as_deref() {
                Some("integer") | Some("number") => json!(missing.parse::<i64>().unwrap_or(999_999_999)),
                _ => json!(missing),
            };
            let Some(slot) = body.pointer_mut(&pointer) else { continue };
            *slot = missing;
            let mut step = self
                .with_body(step, op, &body)
                .named(&format!("{} with a {name} that names no {resource}", op.endpoint()));
            for s in &refused {
                step = step.expect_status(*s);
            }
            let needs = op.secured || setup.secured;
            let scenario =
                Scenario::business_rule(&self.id(op, &format!("unknown.{suffix}")), &op.endpoint()).describe(
                    &format!(
                        "{} refuses a {name} that names no {resource} ({})",
                        op.endpoint(),
                        list(&refused)
                    ),
                );
            out.push(self.assemble(scenario, setup, vec![step], needs)?);
        }
        Ok(out)
    }

    /// Where a generated body names a resource the document creates: (JSON pointer, property,
    /// its schema), in objects and the first item of arrays, a few levels deep.
    fn references_in(
        &self,
        value: &Value,
        schema: &Value,
        at: &str,
        depth: usize,
        out: &mut Vec<(String, String, Value)>,
    ) {
        if depth > 3 {
            return;
        }
        let schema = self.flatten(schema);
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let sub =
                        schema.pointer(&format!("/properties/{}", k.replace('~', "~0").replace('/', "~1")));
                    let sub = sub.cloned().unwrap_or_default();
                    let pointer = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                    let is_reference =
                        referenced_resource(k).is_some_and(|r| self.collection_for(&r).is_some());
                    if is_reference && (v.is_string() || v.is_number()) {
                        out.push((pointer, k.clone(), self.doc.deref(&sub).clone()));
                    } else if v.is_object() || v.is_array() {
                        self.references_in(v, &sub, &pointer, depth + 1, out);
                    }
                }
            }
            Value::Array(items) => {
                if let Some(first) = items.first() {
                    let item = schema.get("items").cloned().unwrap_or_default();
                    self.references_in(first, &item, &format!("{at}/0"), depth + 1, out);
                }
            }
            _ => {}
        }
    }

    /// `step`, a create of `op` (a `POST` to a collection the document deletes members of), taking
    /// the new member's id, so the scenario deletes it at its end ([`Planner::cleaned`]).
    fn to_clean_up(&self, op: &Operation, step: Step, setup: &mut Setup) -> Step {
        let resource = op.path.rsplit('/').next().map(singular).unwrap_or_default();
        if op.method != "POST"
            || op.path.ends_with('}')
            || self.overrides.keep_data
            || !self.index.deleters.contains_key(&op.path)
            || setup.ids.contains_key(&resource)
        {
            return step;
        }
        let Ok(from) = self.id_from(op, &resource) else { return step };
        let (step, id) = from.capture(step, &format!("made_{}", sanitize(&resource)));
        setup.ids.insert(resource.clone(), id);
        setup.made.push(resource);
        step
    }

    /// The scenario whole: what `setup` made first, then `steps`, then the deletes of what it
    /// made ([`Planner::cleaned`]); planned as skipped where it needs credentials or values
    /// ([`Planner::credentials`]).
    fn assemble(
        &self,
        mut scenario: Scenario,
        setup: Setup,
        steps: Vec<Step>,
        needs: bool,
    ) -> Result<Scenario, String> {
        for s in setup.steps.into_iter().chain(steps) {
            scenario = scenario.step(s);
        }
        let scenario = self.cleaned(scenario, &setup.ids, &setup.made);
        self.credentials(scenario, needs, &setup.unknown, &setup.unmade)
    }

    /// `scenario` with, at its end, the deletes of what it made (`made`, ids in `ids`), the last
    /// made first, where the document has a DELETE of such a member and every parameter of its
    /// path is known: a run leaves no record behind. Each accepts the DELETE's success, 404 or 410
    /// (the scenario may have deleted it itself), or a 4xx the DELETE declares (a refusal the
    /// document foresees: what it keeps is the service's word). Not with `keep_data`.
    fn cleaned(&self, mut scenario: Scenario, ids: &BTreeMap<String, String>, made: &[String]) -> Scenario {
        if self.overrides.keep_data {
            return scenario;
        }
        for resource in made.iter().rev() {
            let Some(deleter) =
                self.collection_for(resource).and_then(|c| self.index.deleters.get(&c).copied())
            else {
                continue;
            };
            if deleter.params.iter().any(|p| p.required && p.location != Location::Path) {
                continue;
            }
            let mut path = deleter.path.clone();
            let mut known = true;
            for p in deleter.path_params() {
                match ids.get(&owner_of(&deleter.path, &p.name)) {
                    Some(id) => path = path.replace(&format!("{{{}}}", p.name), id),
                    None => known = false,
                }
            }
            if !known {
                continue;
            }
            // Gone already (the scenario deleted it), or a refusal the document declares (a
            // checked-out cart is kept): the scenario's verdict is not the clean-up's.
            let mut step = expect_success(Step::delete(&path), deleter).expect_status(404).expect_status(410);
            for declared in
                deleter.statuses().into_iter().filter(|s| (400..500).contains(s) && ![404, 410].contains(s))
            {
                step = step.expect_status(declared);
            }
            if let Some((name, value)) = &self.overrides.auth {
                step = step.header(name, value);
            }
            scenario = scenario.step(
                step.named(&format!("clean up: delete the {resource} it made ({})", deleter.endpoint())),
            );
        }
        scenario
    }

    /// A scenario that sends credentials when none are configured cannot pass: it is planned as
    /// skipped with the reason (host feature `tag.skip`), or left out with it.
    ///
    /// So is one that needs path parameters only the user can give (`unknown`): a document whose
    /// every path starts `/subscriptions/{subscriptionId}` plans its scenarios, each saying what
    /// to set, rather than nothing.
    ///
    /// So is one a value of which could not be made valid (`unmade`, the reasons).
    fn credentials(
        &self,
        scenario: Scenario,
        needs: bool,
        unknown: &[String],
        unmade: &[String],
    ) -> Result<Scenario, String> {
        let mut reasons = unmade.to_vec();
        if !unknown.is_empty() {
            let names: Vec<String> = unknown.iter().map(|n| format!("`{n}`")).collect();
            let example: Vec<String> = unknown.iter().map(|n| format!("{n}=...")).collect();
            reasons.push(format!(
                "needs a value for path parameter {} (no operation creates one): set `values` (e.g. \
                 --plugin-config 'values={}')",
                names.join(", "),
                example.join(",")
            ));
        }
        if needs && self.overrides.auth.is_none() {
            reasons.push(NEEDS_CREDENTIALS.to_string());
        }
        if reasons.is_empty() {
            return Ok(scenario);
        }
        if self.overrides.planned_skips {
            Ok(scenario.tag(&format!("skip:{}", reasons.join("; "))))
        } else {
            Err(reasons.join("; "))
        }
    }

    fn id(&self, op: &Operation, suffix: &str) -> String {
        format!("openapi.{}.{suffix}", op.id)
    }

    fn happy(&self, op: &Operation) -> Result<Scenario, String> {
        if op.responses.is_empty() {
            return self.undeclared(op);
        }
        let success = op.success();
        if success.is_empty() {
            return Err("the operation declares no 2xx response".into());
        }
        let id = self.id(op, "happy");
        let mut setup = self.new_setup(&op.id);
        let (mut step, _) = self.request(op, &mut setup, 0, None)?;
        for s in &success {
            step = step.expect_status(*s);
        }
        if let Some(schema) = values::response_schema(self.doc, &op.success_schemas()) {
            step = step.expect_schema(schema);
        }
        let step = self.to_clean_up(op, step, &mut setup);
        let scenario = Scenario::happy_path(&id, &op.endpoint()).describe(&format!(
            "{} answers {} as documented",
            op.endpoint(),
            list(&success)
        ));
        // The name lists every declared status, so an undeclared one is plain in a failure.
        let declared: Vec<&str> = op.responses.iter().map(|(s, _)| s.as_str()).collect();
        let needs = op.secured || setup.secured;
        let step = step.named(&format!("{} (declares {})", op.endpoint(), declared.join(", ")));
        self.assemble(scenario, setup, vec![step], needs)
    }

    /// An operation that declares no responses (OpenAPI 3.1 allows it) promises nothing but
    /// to answer: any status but a 5xx.
    fn undeclared(&self, op: &Operation) -> Result<Scenario, String> {
        let mut setup = self.new_setup(&op.id);
        let (step, _) = self.request(op, &mut setup, 0, None)?;
        let step = step
            .expect_status_class(2)
            .expect_status_class(3)
            .expect_status_class(4)
            .named(&format!("{} (declares no responses: must not answer 5xx)", op.endpoint()));
        let scenario = Scenario::happy_path(&self.id(op, "answers"), &op.endpoint()).describe(&format!(
            "{} declares no responses, and answers without a server error",
            op.endpoint()
        ));
        let needs = op.secured || setup.secured;
        self.assemble(scenario, setup, vec![step], needs)
    }

    fn not_found(&self, op: &Operation) -> Result<Option<Scenario>, String> {
        if !op.statuses().contains(&404) {
            return Ok(None);
        }
        let Some(last) = op.path_params().into_iter().rev().find(|p| names_something(self.doc, p)).cloned()
        else {
            return Ok(None);
        };
        let missing = missing_value(self.doc, &last.schema);
        let mut setup = self.new_setup(&format!("{}-nf", op.id));
        let (step, _) = self.request(op, &mut setup, 0, Some(&missing))?;
        let scenario = Scenario::not_found(&self.id(op, "not-found"), &op.endpoint()).describe(&format!(
            "{} with a {} that cannot exist answers 404",
            op.endpoint(),
            last.name
        ));
        let needs = op.secured || setup.secured;
        let mut step =
            step.named(&format!("{} with an unknown {}", op.endpoint(), last.name)).expect_status(404);
        // A 403 the document says is also for what does not exist ("does not exist or is not
        // accessible", as storage services hide what a caller may not see) is as good an answer.
        if op.said(403).is_some_and(covers_missing) {
            step = step.expect_status(403);
        }
        self.assemble(scenario, setup, vec![step], needs).map(Some)
    }

    /// A path that names a record by an integer (`/things/{id}`, `id` an integer) with text in
    /// its place: refused (400, 404 or 422), never a crash or a success.
    fn not_a_number(&self, op: &Operation) -> Result<Option<Scenario>, String> {
        let params = op.path_params();
        let Some(last) = params.iter().rev().find(|p| names_something(self.doc, p)) else { return Ok(None) };
        if values::type_of(self.doc, &last.schema).as_deref() != Some("integer") {
            return Ok(None);
        }
        let refused = [400, 404, 422];
        let mut setup = self.new_setup(&format!("{}-nan", op.id));
        let (step, _) = self.request(op, &mut setup, 0, Some("not-a-number"))?;
        let mut step = step.named(&format!("{} with {} not a number", op.endpoint(), last.name));
        for s in &refused {
            step = step.expect_status(*s);
        }
        let scenario = Scenario::validation_error(
            &self.id(op, &format!("invalid.{}.not-a-number", last.name)),
            &op.endpoint(),
        )
        .describe(&format!(
            "{} with text where {} is an integer is refused ({})",
            op.endpoint(),
            last.name,
            list(&refused)
        ));
        let needs = op.secured || setup.secured;
        self.assemble(scenario, setup, vec![step], needs).map(Some)
    }

    /// One scenario per constraint a query parameter's schema declares that a value surely
    /// breaks: text for a number (`wrong-type`), a value outside its `enum`, a number below its
    /// `minimum` or above its `maximum`. Not the bounds of a page size (`limit`, `per_page`...),
    /// which servers commonly clamp rather than refuse; not booleans, which many read leniently.
    /// Refused with 400 or 422 (those declared, if any), naming the parameter where the refusal
    /// names any.
    fn invalid_query(&self, op: &Operation) -> Result<Vec<Scenario>, String> {
        // Many servers ignore an odd optional filter: a refusal is expected only where the
        // document declares one.
        let declared: Vec<u16> = op.statuses().into_iter().filter(|s| *s == 400 || *s == 422).collect();
        let expect = match (declared.is_empty(), op.responses.iter().any(|(s, _)| s == "4XX")) {
            (false, _) => declared,
            (true, true) => vec![400, 422],
            (true, false) => return Ok(Vec::new()),
        };
        // (the parameter, the rule, what is wrong, the value sent)
        let mut variants: Vec<(&str, &str, String, String)> = Vec::new();
        for p in op.params.iter().filter(|p| p.location == Location::Query) {
            let schema = self.doc.deref(&p.schema);
            // One type, said plainly: a schema that also allows text (`[integer, string]`, an
            // `anyOf`) accepts what a probe would send.
            let plain = schema_values::types(schema).len() == 1
                && ["anyOf", "oneOf", "allOf", "not"].iter().all(|k| schema.get(k).is_none());
            let kind = values::type_of(self.doc, &p.schema).filter(|_| plain);
            let number = matches!(kind.as_deref(), Some("integer" | "number"));
            let n = p.name.as_str();
            if number {
                variants.push((n, "wrong-type", format!("{n} not a number"), "not-a-number".into()));
            }
            let texts = |e: &Vec<Value>| !e.is_empty() && e.iter().all(Value::is_string);
            if kind.as_deref() == Some("string")
                && schema.get("enum").and_then(Value::as_array).is_some_and(texts)
            {
                let what = format!("{n} outside its enum");
                variants.push((n, "not-in-enum", what, "not-an-allowed-value".into()));
            }
            if number && !page_size(n) {
                variants.extend(self.out_of_bounds(n, schema, kind.as_deref() == Some("integer")));
            }
        }
        at_most_per_kind(&mut variants, |(_, rule, ..)| rule.to_string());
        let mut out = Vec::new();
        for (name, rule, what, value) in variants {
            let mut setup = self.new_setup(&format!("{}-query-{name}-{rule}", op.id));
            let (step, _) = self.request(op, &mut setup, 0, None)?;
            let mut step = step.named(&format!("{} with {what}", op.endpoint()));
            step.http_mut().request.query.retain(|q| q.name != name);
            let mut step = step.query(name, &value);
            for s in &expect {
                step = step.expect_status(*s);
            }
            step = step.check(json!({"rule": crate::REFUSED_FOR, "field": name}));
            let scenario = Scenario::validation_error(
                &self.id(op, &format!("invalid.query.{name}.{rule}")),
                &op.endpoint(),
            )
            .describe(&format!(
                "{} refuses a request with {what} ({})",
                op.endpoint(),
                list(&expect)
            ));
            let needs = op.secured || setup.secured;
            out.push(self.assemble(scenario, setup, vec![step], needs)?);
        }
        Ok(out)
    }

    /// A number just beyond each bound of `schema` (3.0's `exclusiveMinimum: true` beside
    /// `minimum`, or 3.1's number alone), where it can be held exactly: beyond 2^53 a bound and
    /// the value beside it are one double. As (name, rule, what is wrong, the value).
    fn out_of_bounds<'n>(
        &self,
        n: &'n str,
        schema: &Value,
        integer: bool,
    ) -> Vec<(&'n str, &'n str, String, String)> {
        let exact = |key: &str| schema.get(key).and_then(Value::as_f64).filter(|v| v.abs() < 9.0e15);
        let bound = |inclusive: &str, exclusive: &str| {
            exact(inclusive)
                .map(|m| (m, schema.get(exclusive) == Some(&Value::Bool(true))))
                .or_else(|| exact(exclusive).map(|m| (m, true)))
        };
        let step_size = if integer { 1.0 } else { 0.5 };
        let text = |v: f64| if integer { (v as i64).to_string() } else { v.to_string() };
        let mut out = Vec::new();
        if let Some((min, exclusive)) = bound("minimum", "exclusiveMinimum") {
            let v = if exclusive { min } else { min - step_size };
            out.push((n, "below-minimum", format!("{n} below its minimum {min}"), text(v)));
        }
        if let Some((max, exclusive)) = bound("maximum", "exclusiveMaximum") {
            let v = if exclusive { max } else { max + step_size };
            out.push((n, "above-maximum", format!("{n} above its maximum {max}"), text(v)));
        }
        out
    }

    fn unauthenticated(&self, op: &Operation) -> Result<Option<Scenario>, String> {
        self.refused_credentials(op, false)
    }

    /// The same with a wrong token in place of the configured one (when one is configured).
    fn wrong_token(&self, op: &Operation) -> Result<Option<Scenario>, String> {
        match self.overrides.auth {
            Some(_) => self.refused_credentials(op, true),
            None => Ok(None),
        }
    }

    /// A request without credentials, or (`wrong`) with a wrong token, refused with 401 or 403.
    fn refused_credentials(&self, op: &Operation, wrong: bool) -> Result<Option<Scenario>, String> {
        // Either refusal proves the credentials are checked; documents often name only one of
        // the two a service answers (401 for none, 403 for wrong ones), and generated ones (as
        // FastAPI's) neither: a secured operation must refuse a request without credentials
        // whether or not the document lists the status.
        let refused = [401, 403];
        let (suffix, how) = match wrong {
            true => ("wrong-token", "with a wrong token"),
            false => ("unauthenticated", "without credentials"),
        };
        let mut setup = self.new_setup(&format!("{}-{suffix}", op.id));
        let (step, _) = self.request(op, &mut setup, 0, None)?;
        // Without credentials configured, the request carries none already.
        let step = match &self.overrides.auth {
            Some((name, value)) if wrong => {
                // The configured one's scheme (`Bearer`), another token.
                let scheme = value.split_once(' ').map(|(s, _)| format!("{s} ")).unwrap_or_default();
                without_header(step, name).header(name, &format!("{scheme}smoke-wrong-token-0000"))
            }
            Some((name, _)) => without_header(step, name),
            None => step,
        };
        let mut step = step.named(&format!("{} {how}", op.endpoint()));
        for s in &refused {
            step = step.expect_status(*s);
        }
        let scenario = Scenario::new(&self.id(op, suffix), ScenarioKind::Auth, &op.endpoint())
            .describe(&format!("{} refuses a request {how} ({})", op.endpoint(), list(&refused)));
        let needs = setup.secured;
        self.assemble(scenario, setup, vec![step], needs).map(Some)
    }

    /// An object schema with its `allOf` parts merged: their properties and required lists
    /// (each part once, a part referring back to one being merged adding nothing, within the
    /// generator's node budget). A schema that cannot be merged has no properties here: its
    /// request cannot be made, and says why.
    fn flatten(&self, schema: &Value) -> Value {
        values::merge_all_of(self.doc, schema).unwrap_or_else(|_| json!({}))
    }

    /// One scenario per constraint the request body's top level declares.
    fn invalid(&self, op: &Operation) -> Result<Vec<Scenario>, String> {
        let Some(schema) = &op.body else { return Ok(Vec::new()) };
        let schema = self.flatten(schema);
        let Some(props) = schema.get("properties").and_then(Value::as_object) else { return Ok(Vec::new()) };
        let declared: Vec<u16> = op.statuses().into_iter().filter(|s| *s == 400 || *s == 422).collect();
        let expect = if declared.is_empty() { vec![400, 422] } else { declared };
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        // (id suffix, what is wrong, the field, its new value: None to leave it out)
        let mut variants: Vec<(String, String, String, Option<Value>)> = Vec::new();
        for (name, sub) in props {
            let s = self.doc.deref(sub);
            if s.get("readOnly").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let n = name.clone();
            let mut add = |suffix: &str, what: String, value: Option<Value>| {
                variants.push((format!("{n}.{suffix}"), what, n.clone(), value));
            };
            if required.contains(&name.as_str()) {
                add("missing", format!("without the required {n}"), None);
            }
            let kind = values::type_of(self.doc, sub);
            if let Some(t) = &kind {
                let wrong = match t.as_str() {
                    "string" => json!(12345),
                    "integer" | "number" => json!("not-a-number"),
                    "boolean" => json!("not-a-boolean"),
                    "array" => json!("not-an-array"),
                    _ => json!("not-an-object"),
                };
                add("wrong-type", format!("{n} not of type {t}"), Some(wrong));
            }
            let integer = kind.as_deref() == Some("integer");
            let step_size = if integer { 1.0 } else { 0.5 };
            let num = |v: f64| if integer { json!(v as i64) } else { json!(v) };
            if let Some(min) = s.get("minimum").and_then(Value::as_f64) {
                let exclusive = s.get("exclusiveMinimum") == Some(&Value::Bool(true));
                add(
                    "below-minimum",
                    format!("{n} below its minimum {min}"),
                    Some(num(if exclusive { min } else { min - step_size })),
                );
            }
            if let Some(max) = s.get("maximum").and_then(Value::as_f64) {
                let exclusive = s.get("exclusiveMaximum") == Some(&Value::Bool(true));
                add(
                    "above-maximum",
                    format!("{n} above its maximum {max}"),
                    Some(num(if exclusive { max } else { max + step_size })),
                );
            }
            if let Some(min) = s
                .get("minLength")
                .and_then(Value::as_u64)
                .filter(|m| *m > 0 && *m as usize <= values::MAX_MADE_LENGTH)
            {
                add(
                    "too-short",
                    format!("{n} shorter than {min}"),
                    Some(json!("x".repeat(min as usize - 1))),
                );
            }
            if let Some(max) =
                s.get("maxLength").and_then(Value::as_u64).filter(|m| (*m as usize) < values::MAX_MADE_LENGTH)
            {
                add("too-long", format!("{n} longer than {max}"), Some(json!("x".repeat(max as usize + 1))));
            }
            // Only where the value surely does not match (a pattern the regex crate cannot read,
            // or one this value happens to match, gets no scenario).
            if let Some(pattern) = s.get("pattern").and_then(Value::as_str)
                && values::pattern_matches(pattern, NOT_MATCHING) == Some(false)
            {
                add("pattern", format!("{n} not matching its pattern"), Some(json!(NOT_MATCHING)));
            }
            if s.get("enum").is_some() {
                add("not-in-enum", format!("{n} outside its enum"), Some(json!("not-an-allowed-value")));
            }
            // A date or time its description says must lie ahead (or behind): one on the other side.
            let format =
                s.get("format").and_then(Value::as_str).filter(|f| ["date", "date-time"].contains(f));
            let description = s.get("description").and_then(Value::as_str).unwrap_or_default();
            if let (Some(format), Some(future)) = (format, must_lie(description)) {
                let (suffix, when, date) = if future {
                    ("in-the-past", "past", "2001-02-03")
                } else {
                    ("in-the-future", "future", "2999-02-03")
                };
                let value = if format == "date" { date.to_string() } else { format!("{date}T04:05:06Z") };
                add(
                    suffix,
                    format!("{n} in the {when} (its description: {description:?})"),
                    Some(json!(value)),
                );
            }
        }
        // At most a few properties per kind of constraint (by name): a body of forty
        // bounded strings is not forty times more likely to miss a check, and a big document
        // must give a plan a smoke run can afford.
        at_most_per_kind(&mut variants, |(suffix, ..)| {
            suffix.rsplit('.').next().unwrap_or_default().to_string()
        });
        // A form or multipart field is text: only a missing one is surely wrong.
        if op.body_kind != BodyKind::Json {
            variants.retain(|(suffix, ..)| suffix.ends_with(".missing"));
        }
        let mut out = Vec::new();
        for (suffix, what, field, value) in variants {
            let broken = field.clone();
            let mut setup = self.new_setup(&format!("{}-{}", op.id, suffix.replace('.', "-")));
            let (step, body) = self.request(op, &mut setup, 0, None)?;
            let Some(Value::Object(mut body)) = body else { continue };
            match value {
                Some(v) => body.insert(field, v),
                None => body.remove(&field),
            };
            if body.is_empty() && op.body_kind == BodyKind::Multipart {
                // A multipart body has at least one part: the missing field cannot be shown so.
                continue;
            }
            let mut step =
                self.with_body(step, op, &Value::Object(body)).named(&format!("{} {what}", op.endpoint()));
            for s in &expect {
                step = step.expect_status(*s);
            }
            // Refused for the right reason: an answer that names fields names this one.
            step = step.check(json!({"rule": crate::REFUSED_FOR, "field": broken}));
            let scenario =
                Scenario::validation_error(&self.id(op, &format!("invalid.{suffix}")), &op.endpoint())
                    .describe(&format!("{} refuses a body with {what} ({})", op.endpoint(), list(&expect)));
            let needs = op.secured || setup.secured;
            out.push(self.assemble(scenario, setup, vec![step], needs)?);
        }
        Ok(out)
    }
}

/// Keep the first [`PER_CONSTRAINT_KIND`] variants of each kind (`kind` of a variant), in order.
fn at_most_per_kind<T>(variants: &mut Vec<T>, kind: impl Fn(&T) -> String) {
    let mut per_kind: BTreeMap<String, usize> = BTreeMap::new();
    variants.retain(|v| {
        let n = per_kind.entry(kind(v)).or_default();
        *n += 1;
        *n <= PER_CONSTRAINT_KIND
    });
}

/// How many properties of one request body get a scenario for the same kind of constraint
/// (`missing`, `wrong-type`, `too-long`...).
const PER_CONSTRAINT_KIND: usize = 3;

/// Why a scenario needing credentials is skipped when none are configured.
pub const NEEDS_CREDENTIALS: &str =
    "needs credentials: set `auth` (e.g. --plugin-config 'auth=Authorization: Bearer TOKEN')";

/// The value sent for a string that must not match its `pattern`.
const NOT_MATCHING: &str = "!~ not matching ~!";

/// Variables (`"{{product_1}}"`) stay templates; any other `{{` in generated data is sent as is.
fn escape_templates(value: &Value) -> Value {
    match value {
        Value::String(s)
            if s.contains("{{") && !(s.starts_with("{{") && s.ends_with("}}") && !s[2..].contains("{{")) =>
        {
            // The run's token stays a template.
            Value::String(literal(s).replace(&literal(RUN_TOKEN), RUN_TOKEN))
        }
        Value::Array(items) => Value::Array(items.iter().map(escape_templates).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), escape_templates(v))).collect())
        }
        other => other.clone(),
    }
}

/// A value for a path parameter that no server should know, by its type and format.
fn missing_value(doc: &Doc, schema: &Value) -> String {
    let s = doc.deref(schema);
    match (values::type_of(doc, s).as_deref(), s.get("format").and_then(Value::as_str)) {
        (Some("integer") | Some("number"), _) => "999999999".into(),
        (_, Some("uuid")) => smoke_plugin::ids::missing(1),
        // A date nothing was made for: a value of the right format, so the answer is about it.
        (_, Some("date")) => "1900-01-01".into(),
        (_, Some("date-time")) => "1900-01-01T00:00:00Z".into(),
        _ => match s.get("pattern").and_then(Value::as_str).and_then(values::pattern_example) {
            // A pattern-shaped value, with its digits and letters turned to 9s and zs.
            Some(shaped) => shaped
                .chars()
                .map(|c| {
                    if c.is_ascii_digit() {
                        '9'
                    } else if c.is_ascii_alphabetic() {
                        'z'
                    } else {
                        c
                    }
                })
                .collect(),
            None => "smoke-missing-999999".into(),
        },
    }
}

/// Whether a path parameter names something that may not exist: not one of an enum's values.
fn names_something(doc: &Doc, p: &crate::doc::Param) -> bool {
    doc.deref(&p.schema).get("enum").is_none()
}

/// The `Accept` header for what `op` declares its success responses to be: the JSON types when
/// there are some (the response schema is checked on JSON), else every type declared.
fn accept(op: &Operation) -> Option<String> {
    let json: Vec<&str> = op
        .produces
        .iter()
        .map(String::as_str)
        .filter(|t| {
            let t = t.to_ascii_lowercase();
            t.starts_with("application/json") || t.contains("+json")
        })
        .collect();
    let chosen: Vec<&str> =
        if json.is_empty() { op.produces.iter().map(String::as_str).collect() } else { json };
    (!chosen.is_empty()).then(|| chosen.join(", "))
}

/// The resource a path parameter names: the segment before it, singular (`/accounts/{id}/x`,
/// `id`: `account`).
fn owner_of(path: &str, param: &str) -> String {
    let prefix = &path[..path.find(&format!("{{{param}}}")).unwrap_or(0)];
    prefix.trim_end_matches('/').rsplit('/').next().map(singular).unwrap_or_default()
}

/// Whether a query parameter sets a page's size or place, which servers commonly clamp to
/// their bounds rather than refuse (`limit`, `per_page`, `pageSize`, `max_results`, `page`,
/// `offset`...).
fn page_size(name: &str) -> bool {
    let n: String = name.to_ascii_lowercase().chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let exact =
        ["size", "count", "top", "first", "last", "take", "page", "offset", "skip", "start", "cursor"];
    let within = [
        "limit",
        "perpage",
        "pagesize",
        "maxresults",
        "maxitems",
        "itemsperpage",
        "resultsperpage",
        "pagenumber",
    ];
    exact.contains(&n.as_str()) || within.iter().any(|w| n.contains(w))
}

/// Whether a header parameter tells a rate limit who the client is: named so (`X-Client-Id`,
/// `Client-Id`) or described as being for the rate limit.
/// Never a credential (a name with `key`, `token`, `auth`, `secret`, `session` or `cookie`):
/// replacing it would only be refused.
fn names_the_client(p: &crate::doc::Param) -> bool {
    let name = p.name.to_ascii_lowercase();
    let description = p.description.to_ascii_lowercase();
    let credential = ["key", "token", "auth", "secret", "session", "cookie"].iter().any(|w| name.contains(w));
    !credential
        && (["x-client-id", "client-id"].contains(&name.as_str())
            || ["rate limit", "rate-limit", "ratelimit"].iter().any(|w| description.contains(w)))
}

/// Whether a date's description says it must lie in the future (`Some(true)`: "in the future",
/// "a future date", "not in the past") or in the past (`Some(false)`). Any other negation or
/// mention of both ("must not be in the future", "cannot be in the past", "past due", "in the
/// past or the future") says nothing sure: `None`.
pub(crate) fn must_lie(description: &str) -> Option<bool> {
    let d = description.to_ascii_lowercase();
    let words: Vec<&str> =
        d.split(|c: char| !c.is_ascii_alphabetic() && c != '\'').filter(|w| !w.is_empty()).collect();
    let said = |word: &str| words.contains(&word);
    let (future, past) = (said("future"), said("past"));
    let negated = ["not", "cannot", "can't", "never", "no", "due", "nor", "except"].iter().any(|w| said(w));
    match (future, past, negated) {
        (true, false, false) => Some(true),
        (false, true, false) => Some(false),
        // Only the plain negations, each alone: "not in the past" is the future.
        (false, true, true)
            if d.contains("not in the past") && words.iter().filter(|w| **w == "not").count() == 1 =>
        {
            Some(true)
        }
        (true, false, true)
            if d.contains("not in the future") && words.iter().filter(|w| **w == "not").count() == 1 =>
        {
            Some(false)
        }
        _ => None,
    }
}

/// Whether `path` is one member of `collection`: `/things/{id}` of `/things`.
fn member_of(path: &str, collection: &str) -> bool {
    path.strip_prefix(collection).and_then(|rest| rest.strip_prefix("/{")).is_some_and(|rest| {
        rest.ends_with('}') && !rest.contains('/') && !rest[..rest.len() - 1].contains('{')
    })
}

/// A setup step passes on what its operation declares as success.
fn expect_success(mut step: Step, op: &Operation) -> Step {
    for s in op.success() {
        step = step.expect_status(s);
    }
    step
}

fn without_header(step: Step, name: &str) -> Step {
    let mut step = step;
    step.http_mut().request.headers.retain(|h| !h.name.eq_ignore_ascii_case(name));
    step
}

/// FNV-1a: a stable hash (the same plan every time), for ids and keys distinct per scenario.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// `Idempotency-Key`, `idempotency_key`, `idempotencyKey`, `X-Idempotency-Key`.
fn is_idempotency_key(name: &str) -> bool {
    let n: String = name.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
    n == "idempotencykey" || n == "xidempotencykey"
}

/// The start of a reason that is also a coverage warning (something went wrong planning it),
/// as opposed to what the document does not say.
const SAY: &str = "cannot be planned: ";

/// The operation's scenarios, the first tagged `not-planned:KIND:REASON` for each kind of check
/// it gets none of: the host's "not tested" ledger reads them.
fn with_not_planned(mut mine: Vec<Scenario>, not_planned: &[(&str, String)]) -> Vec<Scenario> {
    if mine.is_empty() || not_planned.is_empty() {
        return mine;
    }
    let mut first = mine.remove(0);
    for (kind, why) in not_planned {
        first = first.tag(&format!("not-planned:{kind}:{why}"));
    }
    mine.insert(0, first);
    mine
}

/// Whether a 403's description says it is (also) the answer for what does not exist.
fn covers_missing(description: &str) -> bool {
    let d = description.to_ascii_lowercase();
    ["not exist", "does not exist", "not found", "no such", "not accessible", "or is not"]
        .iter()
        .any(|w| d.contains(w))
}

/// A JSON pointer's segment for a property name (`~` and `/` escaped).
fn escape_pointer(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

fn list(statuses: &[u16]) -> String {
    statuses.iter().map(u16::to_string).collect::<Vec<_>>().join(" or ")
}
