//! Unit tests of intrinsic resolution: references, `Fn::Sub`, and the conditional forms a template
//! uses to turn a property on or off by parameter.

use super::*;

struct Fixed;
impl Resolve for Fixed {
    fn reference(&self, name: &str) -> Option<String> {
        match name {
            "Queue" => Some("http://127.0.0.1:5000/123/q".into()),
            "AWS::Region" => Some("us-east-1".into()),
            _ => None,
        }
    }
    fn attribute(&self, id: &str, attr: &str) -> Option<String> {
        (id == "Queue" && attr == "Arn").then(|| "arn:aws:sqs:us-east-1:123:q".into())
    }
}

fn yaml(text: &str) -> Value {
    serde_yaml::from_str(text).unwrap()
}

#[test]
fn short_and_long_forms_resolve_alike() {
    for text in ["!Ref Queue", "{Ref: Queue}"] {
        assert_eq!(
            resolve_string(&yaml(text), &Fixed).unwrap(),
            "http://127.0.0.1:5000/123/q"
        );
    }
    for text in ["!GetAtt Queue.Arn", "{'Fn::GetAtt': [Queue, Arn]}"] {
        assert_eq!(
            resolve_string(&yaml(text), &Fixed).unwrap(),
            "arn:aws:sqs:us-east-1:123:q"
        );
    }
}

#[test]
fn sub_replaces_refs_attributes_and_keeps_literals() {
    let v = yaml(r#"!Sub "${Queue.Arn} in ${AWS::Region} ${!Literal}""#);
    assert_eq!(
        resolve_string(&v, &Fixed).unwrap(),
        "arn:aws:sqs:us-east-1:123:q in us-east-1 ${Literal}"
    );
}

#[test]
fn unknown_references_are_errors_not_blanks() {
    assert_eq!(
        resolve(&yaml("!Ref Nope"), &Fixed),
        Err(IntrinsicError::Unresolved("Nope".into()))
    );
}

#[test]
fn nested_values_are_resolved_in_place() {
    let v = resolve(
        &yaml("{deadLetterTargetArn: !GetAtt Queue.Arn, maxReceiveCount: 3}"),
        &Fixed,
    )
    .unwrap();
    assert_eq!(v["deadLetterTargetArn"], Value::from("arn:aws:sqs:us-east-1:123:q"));
    assert_eq!(v["maxReceiveCount"], Value::from(3));
}

/// Parameters and conditions as a template declares them.
fn parameters(values: &[(&str, &str)]) -> BTreeMap<String, String> {
    values.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn conditions() -> Mapping {
    let Value::Mapping(map) = yaml(
        r#"
HasOrigins: !Not [!Equals [!Ref Origins, ""]]
IsProd: {"Fn::Equals": [{Ref: Stage}, prod]}
ProdWithOrigins: !And [!Condition HasOrigins, {Condition: IsProd}]
AnyOf: !Or [!Condition IsProd, !Equals [a, b]]
Loop: !Not [!Condition Loop]
"#,
    ) else {
        unreachable!("the conditions are a mapping")
    };
    map
}

const CORS: &str = r#"
Cors: !If
  - HasOrigins
  - AllowOrigins: !Split [",", !Ref Origins]
    MaxAge: 600
  - !Ref AWS::NoValue
Name: api
"#;

#[test]
fn if_picks_its_branch_and_split_makes_a_list() {
    // GIVEN two origins
    let values = parameters(&[("Origins", "https://a.test,http://b.test:8080"), ("Stage", "dev")]);
    let conditions = conditions();
    let resolver = Parameters {
        values: &values,
        conditions: &conditions,
    };

    // WHEN the conditional property is resolved
    let resolved = resolve(&yaml(CORS), &resolver).unwrap();

    // THEN it is there, with the origins as a list
    assert_eq!(
        resolved["Cors"]["AllowOrigins"],
        yaml("[https://a.test, 'http://b.test:8080']")
    );
    assert_eq!(resolved["Cors"]["MaxAge"], Value::from(600));
}

#[test]
fn a_no_value_branch_removes_its_key_and_list_item() {
    // GIVEN no origins
    let values = parameters(&[("Origins", ""), ("Stage", "dev")]);
    let conditions = conditions();
    let resolver = Parameters {
        values: &values,
        conditions: &conditions,
    };

    // WHEN the conditional property and a list holding AWS::NoValue are resolved
    let resolved = resolve(&yaml(CORS), &resolver).unwrap();
    let list = resolve(&yaml("[a, !Ref AWS::NoValue, b]"), &resolver).unwrap();

    // THEN the key is gone (its sibling stays), and so is the list item
    assert_eq!(resolved, yaml("{Name: api}"));
    assert_eq!(list, yaml("[a, b]"));
}

#[test]
fn conditions_combine_and_refer_to_each_other_in_both_forms() {
    let values = parameters(&[("Origins", "https://a.test"), ("Stage", "prod")]);
    let conditions = conditions();
    let resolver = Parameters {
        values: &values,
        conditions: &conditions,
    };
    let named = |name: &str| evaluate(&conditions[name], &resolver);
    assert_eq!(named("ProdWithOrigins"), Ok(true));
    assert_eq!(named("AnyOf"), Ok(true));
    let dev = parameters(&[("Origins", ""), ("Stage", "dev")]);
    let resolver = Parameters {
        values: &dev,
        conditions: &conditions,
    };
    assert_eq!(evaluate(&conditions["HasOrigins"], &resolver), Ok(false));
    assert_eq!(evaluate(&conditions["AnyOf"], &resolver), Ok(false));
}

#[test]
fn an_unknown_or_self_referring_condition_is_an_error_not_false() {
    let values = parameters(&[("Origins", ""), ("Stage", "dev")]);
    let conditions = conditions();
    let resolver = Parameters {
        values: &values,
        conditions: &conditions,
    };
    assert_eq!(
        resolve(&yaml("!If [Nope, a, b]"), &resolver),
        Err(IntrinsicError::Unresolved("condition Nope".into()))
    );
    assert!(matches!(
        evaluate(&conditions["Loop"], &resolver),
        Err(IntrinsicError::Unsupported(m)) if m.contains("refers to itself")
    ));
    // A resolver that knows no conditions (the provisioned stack) refuses Fn::If rather than guess.
    assert!(resolve(&yaml("!If [HasOrigins, a, b]"), &Fixed).is_err());
}
