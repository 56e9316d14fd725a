//! Route matching as the HTTP API does it: method + path with `{param}` and greedy `{proxy+}`,
//! the most specific route wins, `ANY` matches every method, `$default` catches the rest.

use std::collections::HashMap;

use crate::template::FunctionDef;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
}

#[derive(Debug, Clone)]
struct Entry {
    method: String,
    segments: Option<Vec<Segment>>, // `None` is `$default`
    route_key: String,
    function: String,
    authorizer: Option<String>,
}

/// The routes of one HTTP API.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    entries: Vec<Entry>,
}

/// The route a request matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    pub function: String,
    pub route_key: String,
    pub path_parameters: HashMap<String, String>,
    /// The authorizer that runs first, if any.
    pub authorizer: Option<String>,
}

impl RouteTable {
    /// The table of every HTTP route of the given functions; routes without `Auth.Authorizer` get
    /// `default_authorizer`, and `NONE` means no authorizer.
    #[must_use]
    pub fn new(functions: &[FunctionDef], default_authorizer: Option<&str>) -> Self {
        let entries = functions
            .iter()
            .flat_map(|f| {
                f.http_routes.iter().map(|r| Entry {
                    method: r.method.clone(),
                    segments: (r.path != "$default").then(|| parse(&r.path)),
                    route_key: r.route_key(),
                    function: f.binary.clone(),
                    authorizer: match r.authorizer.as_deref() {
                        Some("NONE") => None,
                        Some(name) => Some(name.to_owned()),
                        None => default_authorizer.map(str::to_owned),
                    },
                })
            })
            .collect();
        Self { entries }
    }

    /// Finds the route for a request, or `None` (the gateway answers 404 as API Gateway does).
    #[must_use]
    pub fn find(&self, method: &str, path: &str) -> Option<RouteMatch> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let best = self
            .entries
            .iter()
            .filter(|e| e.method == "ANY" || e.method.eq_ignore_ascii_case(method))
            .filter_map(|e| {
                let params = match &e.segments {
                    Some(segments) => match_segments(segments, &parts)?,
                    None => HashMap::new(),
                };
                Some((specificity(e), e, params))
            })
            .max_by_key(|(score, _, _)| *score)?;
        let (_, entry, path_parameters) = best;
        Some(RouteMatch {
            function: entry.function.clone(),
            route_key: entry.route_key.clone(),
            path_parameters,
            authorizer: entry.authorizer.clone(),
        })
    }
}

fn parse(path: &str) -> Vec<Segment> {
    path.trim_start_matches('/')
        .split('/')
        .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => match name.strip_suffix('+') {
                Some(greedy) => Segment::Greedy(greedy.to_owned()),
                None => Segment::Param(name.to_owned()),
            },
            None => Segment::Literal(s.to_owned()),
        })
        .collect()
}

fn match_segments(segments: &[Segment], parts: &[&str]) -> Option<HashMap<String, String>> {
    let mut params = HashMap::new();
    for (i, segment) in segments.iter().enumerate() {
        match segment {
            Segment::Greedy(name) => {
                let rest = parts
                    .get(i..)
                    .filter(|r| !r.is_empty() && r.iter().any(|p| !p.is_empty()))?;
                params.insert(name.clone(), decode(&rest.join("/")));
                return Some(params);
            }
            Segment::Literal(lit) if parts.get(i) == Some(&lit.as_str()) => {}
            Segment::Param(name) => {
                let value = parts.get(i).filter(|v| !v.is_empty())?;
                params.insert(name.clone(), decode(value));
            }
            Segment::Literal(_) => return None,
        }
    }
    (segments.len() == parts.len()).then_some(params)
}

/// Literal segments beat parameters, parameters beat greedy paths, a named method beats `ANY`,
/// and `$default` loses to everything.
fn specificity(entry: &Entry) -> (bool, usize, usize, bool) {
    let Some(segments) = &entry.segments else {
        return (false, 0, 0, false);
    };
    let literals = segments.iter().filter(|s| matches!(s, Segment::Literal(_))).count();
    let not_greedy = segments.iter().filter(|s| !matches!(s, Segment::Greedy(_))).count();
    (true, literals, not_greedy, entry.method != "ANY")
}

fn decode(value: &str) -> String {
    percent_encoding::percent_decode_str(value)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::HttpRoute;

    fn table(routes: &[(&str, &str, &str)]) -> RouteTable {
        let functions: Vec<FunctionDef> = routes
            .iter()
            .map(|(method, path, function)| FunctionDef {
                logical_id: (*function).to_owned(),
                binary: (*function).to_owned(),
                http_routes: vec![HttpRoute {
                    method: (*method).to_owned(),
                    path: (*path).to_owned(),
                    authorizer: None,
                }],
                sqs_triggers: vec![],
                schedules: vec![],
            })
            .collect();
        RouteTable::new(&functions, None)
    }

    #[test]
    fn path_parameters_are_extracted_and_decoded() {
        let t = table(&[("GET", "/contexts/{contextID}/nodes/{nodeID}", "nodes")]);
        let m = t.find("GET", "/contexts/c%201/nodes/n2").unwrap();
        assert_eq!(m.function, "nodes");
        assert_eq!(m.route_key, "GET /contexts/{contextID}/nodes/{nodeID}");
        assert_eq!(m.path_parameters["contextID"], "c 1");
        assert_eq!(m.path_parameters["nodeID"], "n2");
    }

    #[test]
    fn an_unknown_path_matches_nothing() {
        let t = table(&[("GET", "/api/v1/health", "health")]);
        assert_eq!(t.find("GET", "/api/v1/nope"), None);
        assert_eq!(t.find("GET", "/api/v1/health/extra"), None);
    }

    #[test]
    fn a_method_mismatch_matches_nothing() {
        let t = table(&[("GET", "/api/v1/health", "health")]);
        assert_eq!(t.find("POST", "/api/v1/health"), None);
    }

    #[test]
    fn literal_routes_beat_parameters_and_methods_beat_any() {
        let t = table(&[
            ("ANY", "/items/{id}", "any"),
            ("GET", "/items/{id}", "by-id"),
            ("GET", "/items/latest", "latest"),
            ("ANY", "$default", "fallback"),
        ]);
        assert_eq!(t.find("GET", "/items/latest").unwrap().function, "latest");
        assert_eq!(t.find("GET", "/items/7").unwrap().function, "by-id");
        assert_eq!(t.find("DELETE", "/items/7").unwrap().function, "any");
        assert_eq!(t.find("GET", "/elsewhere").unwrap().function, "fallback");
    }

    #[test]
    fn routes_get_the_default_authorizer_unless_they_name_one_or_none() {
        let route = |path: &str, authorizer: Option<&str>| HttpRoute {
            method: "GET".into(),
            path: path.into(),
            authorizer: authorizer.map(str::to_owned),
        };
        let f = FunctionDef {
            logical_id: "F".into(),
            binary: "f".into(),
            http_routes: vec![route("/a", None), route("/b", Some("NONE")), route("/c", Some("Other"))],
            sqs_triggers: vec![],
            schedules: vec![],
        };
        let t = RouteTable::new(&[f], Some("Default"));
        assert_eq!(t.find("GET", "/a").unwrap().authorizer.as_deref(), Some("Default"));
        assert_eq!(t.find("GET", "/b").unwrap().authorizer, None);
        assert_eq!(t.find("GET", "/c").unwrap().authorizer.as_deref(), Some("Other"));
    }

    #[test]
    fn greedy_parameters_take_the_rest_of_the_path() {
        let t = table(&[("GET", "/files/{proxy+}", "files")]);
        assert_eq!(t.find("GET", "/files/a/b/c").unwrap().path_parameters["proxy"], "a/b/c");
        assert_eq!(t.find("GET", "/files/"), None);
    }
}
