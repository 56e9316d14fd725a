//! Creates the template's tables, queues and state machines on the local emulators, idempotently,
//! and resolves the functions' environment against them: one definition for AWS and for local runs.

use std::collections::BTreeMap;

use anyhow::{bail, Context as _};
use serde_yaml::Value;

use crate::intrinsic::{resolve_string, Resolve};
use shared::aws::AwsClients;

use crate::resources::{create_queue, create_state_machine, create_table};
use crate::template::{Resource, Template};

/// How local physical names are made: `<stack>-<LogicalId>`.
#[derive(Debug, Clone)]
pub struct Stack {
    pub name: String,
    pub region: String,
    pub account: String,
}

impl Stack {
    #[must_use]
    pub fn physical_name(&self, logical_id: &str) -> String {
        format!("{}-{logical_id}", self.name)
    }
}

/// What `Ref` gives for a WebSocket API: the gateway serves it itself, and the functions' environment
/// maps its execute-api URLs to the local port.
pub const LOCAL_WEBSOCKET_API: &str = "local-ws";

/// What `Ref` and `Fn::GetAtt` give for each created resource.
#[derive(Debug, Clone, Default)]
pub struct Physical {
    pub reference: String,
    pub attributes: BTreeMap<String, String>,
}

/// The stack as created: resolves intrinsics like CloudFormation would for the deployed stack.
#[derive(Debug, Clone)]
pub struct Provisioned {
    pub stack: Stack,
    pub parameters: BTreeMap<String, String>,
    pub resources: BTreeMap<String, Physical>,
}

impl Resolve for Provisioned {
    fn reference(&self, name: &str) -> Option<String> {
        match name {
            "AWS::Region" => Some(self.stack.region.clone()),
            "AWS::AccountId" => Some(self.stack.account.clone()),
            "AWS::StackName" => Some(self.stack.name.clone()),
            "AWS::Partition" => Some("aws".to_owned()),
            "AWS::URLSuffix" => Some("amazonaws.com".to_owned()),
            _ => self
                .parameters
                .get(name)
                .or_else(|| self.resources.get(name).map(|p| &p.reference))
                .cloned(),
        }
    }

    fn attribute(&self, logical_id: &str, attribute: &str) -> Option<String> {
        self.resources.get(logical_id)?.attributes.get(attribute).cloned()
    }
}

impl Provisioned {
    /// `Globals.Function.Environment.Variables` and every function's own, resolved: the one environment
    /// `cargo lambda watch` gives all functions locally.
    ///
    /// # Errors
    /// When a variable refers to something the stack does not have.
    pub fn function_environment(&self, template: &Template) -> anyhow::Result<BTreeMap<String, String>> {
        let per_function = template
            .of_type("AWS::Serverless::Function")
            .filter_map(|f| f.properties.get("Environment")?.get("Variables")?.as_mapping());
        let mut env = BTreeMap::new();
        for (k, v) in std::iter::once(&template.globals_env).chain(per_function).flatten() {
            let key = k.as_str().context("environment variable names are strings")?.to_owned();
            let value = resolve_string(v, self).with_context(|| format!("environment variable {key}"))?;
            // `cargo lambda watch` gives every function one environment, so names must not clash.
            if env.get(&key).is_some_and(|old| old != &value) {
                anyhow::bail!("environment variable {key} has different values in different functions");
            }
            env.insert(key, value);
        }
        Ok(env)
    }
}

/// Creates (or finds) every table, queue and state machine, dead-letter queues before their sources.
///
/// # Errors
/// When an emulator cannot be reached or a resource definition is not supported.
pub async fn provision(template: &Template, clients: &AwsClients, stack: &Stack) -> anyhow::Result<Provisioned> {
    provision_with(template, clients, stack, &BTreeMap::new()).await
}

/// [`provision`] with parameter values that override the template's defaults (as
/// `sam deploy --parameter-overrides` does).
///
/// # Errors
/// As [`provision`], and for an override of a parameter the template does not declare.
pub async fn provision_with(
    template: &Template,
    clients: &AwsClients,
    stack: &Stack,
    overrides: &BTreeMap<String, String>,
) -> anyhow::Result<Provisioned> {
    let mut out = Provisioned {
        stack: stack.clone(),
        parameters: parameter_values(template, overrides)?,
        resources: BTreeMap::new(),
    };
    create_tables(template, clients, &mut out).await?;
    create_queues(template, clients, &mut out).await?;
    create_state_machines(template, clients, &mut out).await?;
    register_websocket_apis(template, &mut out);
    Ok(out)
}

/// WebSocket APIs and their stages, served by the gateway itself: `Ref` gives the local API id and the
/// stage name.
fn register_websocket_apis(template: &Template, out: &mut Provisioned) {
    for api in template.of_type("AWS::ApiGatewayV2::Api") {
        out.resources.insert(
            api.logical_id.clone(),
            Physical {
                reference: LOCAL_WEBSOCKET_API.to_owned(),
                attributes: BTreeMap::new(),
            },
        );
    }
    for stage in template.of_type("AWS::ApiGatewayV2::Stage") {
        let name = stage
            .properties
            .get("StageName")
            .and_then(Value::as_str)
            .unwrap_or("$default");
        out.resources.insert(
            stage.logical_id.clone(),
            Physical {
                reference: name.to_owned(),
                attributes: BTreeMap::new(),
            },
        );
    }
}

/// Every parameter's value as `Ref` gives it: its default, or its override (as
/// `sam deploy --parameter-overrides` gives them).
///
/// # Errors
/// For an override of a parameter the template does not declare.
pub fn parameter_values(
    template: &Template,
    overrides: &BTreeMap<String, String>,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut parameters = parameter_defaults(template);
    for (name, value) in overrides {
        anyhow::ensure!(parameters.contains_key(name), "the template has no parameter {name}");
        parameters.insert(name.clone(), value.clone());
    }
    Ok(parameters)
}

/// Parameter defaults as `Ref` gives them: strings as they are, other values as their YAML text.
fn parameter_defaults(template: &Template) -> BTreeMap<String, String> {
    template
        .parameters
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => (k.clone(), s.clone()),
            other => (
                k.clone(),
                serde_yaml::to_string(other).unwrap_or_default().trim().to_owned(),
            ),
        })
        .collect()
}

async fn create_tables(template: &Template, clients: &AwsClients, out: &mut Provisioned) -> anyhow::Result<()> {
    for table in template.of_type("AWS::DynamoDB::Table") {
        let physical = create_table(clients, out, table)
            .await
            .with_context(|| format!("table {}", table.logical_id))?;
        out.resources.insert(table.logical_id.clone(), physical);
    }
    Ok(())
}

async fn create_queues(template: &Template, clients: &AwsClients, out: &mut Provisioned) -> anyhow::Result<()> {
    // Queues whose redrive targets exist go first; a loop that makes no progress is a cycle.
    let mut pending: Vec<_> = template.of_type("AWS::SQS::Queue").collect();
    while !pending.is_empty() {
        let before = pending.len();
        let next = create_ready_queues(pending, clients, out).await?;
        if next.len() == before {
            let ids: Vec<_> = next.iter().map(|q| q.logical_id.as_str()).collect();
            bail!("queues {ids:?} have dead-letter targets that are not queues of this template");
        }
        pending = next;
    }
    Ok(())
}

/// Creates the queues whose dead-letter target already exists; returns the ones still waiting.
async fn create_ready_queues<'a>(
    pending: Vec<&'a Resource>,
    clients: &AwsClients,
    out: &mut Provisioned,
) -> anyhow::Result<Vec<&'a Resource>> {
    let mut next = Vec::new();
    for queue in pending {
        let target = queue
            .properties
            .get("RedrivePolicy")
            .and_then(|r| r.get("deadLetterTargetArn"));
        if target.is_some_and(|t| resolve_string(t, out).is_err()) {
            next.push(queue);
            continue;
        }
        let physical = create_queue(clients, out, queue)
            .await
            .with_context(|| format!("queue {}", queue.logical_id))?;
        out.resources.insert(queue.logical_id.clone(), physical);
    }
    Ok(next)
}

async fn create_state_machines(template: &Template, clients: &AwsClients, out: &mut Provisioned) -> anyhow::Result<()> {
    for machine in template.of_type("AWS::Serverless::StateMachine") {
        let physical = create_state_machine(clients, out, template, machine)
            .await
            .with_context(|| format!("state machine {}", machine.logical_id))?;
        out.resources.insert(machine.logical_id.clone(), physical);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
