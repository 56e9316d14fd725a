//! One function per resource type: create it from its template properties, or find it if it exists.

use std::collections::BTreeMap;

use anyhow::{bail, Context as _};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_yaml::Value;
use shared::aws::AwsClients;

use crate::intrinsic::{resolve, resolve_string};
use crate::provision::{Physical, Provisioned};
use crate::template::{Resource, Template};

fn text<'a>(v: &'a Value, key: &str) -> anyhow::Result<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .with_context(|| format!("{key} is missing or not a string"))
}

fn list<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_sequence).into_iter().flatten()
}

fn key_schema(v: &Value) -> anyhow::Result<Vec<KeySchemaElement>> {
    list(v, "KeySchema")
        .map(|k| {
            let key_type = KeyType::from(text(k, "KeyType")?);
            Ok(KeySchemaElement::builder()
                .attribute_name(text(k, "AttributeName")?)
                .key_type(key_type)
                .build()?)
        })
        .collect()
}

/// `AWS::DynamoDB::Table`: keys, attribute definitions, global secondary indexes, billing mode and TTL.
///
/// # Errors
/// When DynamoDB cannot be reached or the properties are not understood.
pub async fn create_table(clients: &AwsClients, stack: &Provisioned, table: &Resource) -> anyhow::Result<Physical> {
    let props = resolve(&table.properties, stack)?;
    let name = stack.stack.physical_name(&table.logical_id);
    let attributes = attribute_definitions(&props)?;
    let indexes = global_secondary_indexes(&props)?;
    create_table_unless_exists(clients, &name, &props, attributes, indexes).await?;
    enable_ttl(clients, &name, &props).await?;
    let arn = format!(
        "arn:aws:dynamodb:{}:{}:table/{name}",
        stack.stack.region, stack.stack.account
    );
    Ok(Physical {
        reference: name,
        attributes: BTreeMap::from([("Arn".to_owned(), arn)]),
    })
}

fn attribute_definitions(props: &Value) -> anyhow::Result<Vec<AttributeDefinition>> {
    list(props, "AttributeDefinitions")
        .map(|a| {
            let kind = ScalarAttributeType::from(text(a, "AttributeType")?);
            Ok(AttributeDefinition::builder()
                .attribute_name(text(a, "AttributeName")?)
                .attribute_type(kind)
                .build()?)
        })
        .collect()
}

fn global_secondary_indexes(props: &Value) -> anyhow::Result<Vec<GlobalSecondaryIndex>> {
    list(props, "GlobalSecondaryIndexes")
        .map(|g| {
            let projection = projection(g.get("Projection").context("Projection")?)?;
            Ok(GlobalSecondaryIndex::builder()
                .index_name(text(g, "IndexName")?)
                .set_key_schema(Some(key_schema(g)?))
                .projection(projection)
                .build()?)
        })
        .collect()
}

fn projection(projection: &Value) -> anyhow::Result<Projection> {
    let non_key: Vec<String> = list(projection, "NonKeyAttributes")
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    Ok(Projection::builder()
        .projection_type(ProjectionType::from(text(projection, "ProjectionType")?))
        .set_non_key_attributes((!non_key.is_empty()).then_some(non_key))
        .build())
}

/// Creates the table; one that already exists (`ResourceInUseException`) is kept as it is.
async fn create_table_unless_exists(
    clients: &AwsClients,
    name: &str,
    props: &Value,
    attributes: Vec<AttributeDefinition>,
    indexes: Vec<GlobalSecondaryIndex>,
) -> anyhow::Result<()> {
    let created = clients
        .dynamodb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(
            props
                .get("BillingMode")
                .and_then(Value::as_str)
                .unwrap_or("PAY_PER_REQUEST"),
        ))
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(props)?))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => Ok(()),
        Err(e) => bail!(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()),
    }
}

async fn enable_ttl(clients: &AwsClients, name: &str, props: &Value) -> anyhow::Result<()> {
    if let Some(ttl) = props
        .get("TimeToLiveSpecification")
        .filter(|t| t.get("Enabled") == Some(&Value::Bool(true)))
    {
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(text(ttl, "AttributeName")?)
            .enabled(true)
            .build()?;
        // Enabling TTL twice is an error in DynamoDB; the table then already has it.
        let _ = clients
            .dynamodb
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(spec)
            .send()
            .await;
    }
    Ok(())
}

/// `AWS::SQS::Queue`: visibility timeout, retention, delay and redrive policy.
///
/// # Errors
/// When SQS cannot be reached or refuses the attributes.
pub async fn create_queue(clients: &AwsClients, stack: &Provisioned, queue: &Resource) -> anyhow::Result<Physical> {
    let props = resolve(&queue.properties, stack)?;
    let name = queue_name(&stack.stack, queue);
    let mut request = clients.sqs.create_queue().queue_name(&name);
    for (attr, value) in queue_attributes(&props, stack)? {
        request = request.attributes(attr, value);
    }
    let url = request
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?
        .queue_url
        .context("CreateQueue returned no URL")?;
    let arn = format!("arn:aws:sqs:{}:{}:{name}", stack.stack.region, stack.stack.account);
    let attributes = BTreeMap::from([
        ("Arn".to_owned(), arn),
        ("QueueName".to_owned(), name),
        ("QueueUrl".to_owned(), url.clone()),
    ]);
    Ok(Physical {
        reference: url,
        attributes,
    })
}

/// A queue's local name: `<stack>-<LogicalId>`, with the `.fifo` suffix SQS requires of a FIFO
/// queue (CloudFormation adds it to the names it makes, too).
#[must_use]
pub fn queue_name(stack: &crate::provision::Stack, queue: &Resource) -> String {
    let name = stack.physical_name(&queue.logical_id);
    if is_fifo(&queue.properties) {
        format!("{name}.fifo")
    } else {
        name
    }
}

fn is_fifo(props: &Value) -> bool {
    props.get("FifoQueue").is_some_and(|v| v.as_bool() == Some(true))
}

/// The queue attributes the properties set, the redrive policy as SQS wants it (JSON text).
fn queue_attributes(props: &Value, stack: &Provisioned) -> anyhow::Result<Vec<(QueueAttributeName, String)>> {
    let mut out = Vec::new();
    for (key, attr) in [
        ("VisibilityTimeout", QueueAttributeName::VisibilityTimeout),
        ("MessageRetentionPeriod", QueueAttributeName::MessageRetentionPeriod),
        ("DelaySeconds", QueueAttributeName::DelaySeconds),
        (
            "ReceiveMessageWaitTimeSeconds",
            QueueAttributeName::ReceiveMessageWaitTimeSeconds,
        ),
        ("FifoQueue", QueueAttributeName::FifoQueue),
        (
            "ContentBasedDeduplication",
            QueueAttributeName::ContentBasedDeduplication,
        ),
        ("DeduplicationScope", QueueAttributeName::DeduplicationScope),
        ("FifoThroughputLimit", QueueAttributeName::FifoThroughputLimit),
    ] {
        if let Some(v) = props.get(key) {
            out.push((attr, resolve_string(v, stack)?));
        }
    }
    if let Some(redrive) = props.get("RedrivePolicy") {
        let policy = serde_json::json!({
            "deadLetterTargetArn": text(redrive, "deadLetterTargetArn")?,
            "maxReceiveCount": resolve_string(redrive.get("maxReceiveCount").context("maxReceiveCount")?, stack)?
                .parse::<u32>()?,
        });
        out.push((QueueAttributeName::RedrivePolicy, policy.to_string()));
    }
    Ok(out)
}

/// `AWS::Serverless::StateMachine` with `DefinitionUri` and `DefinitionSubstitutions`; an existing
/// machine of the same name gets the new definition.
///
/// # Errors
/// When the definition file cannot be read or Step Functions refuses it.
pub async fn create_state_machine(
    clients: &AwsClients,
    stack: &Provisioned,
    template: &Template,
    machine: &Resource,
) -> anyhow::Result<Physical> {
    let definition = definition(stack, template, &machine.properties)?;
    let name = stack.stack.physical_name(&machine.logical_id);
    let arn = format!(
        "arn:aws:states:{}:{}:stateMachine:{name}",
        stack.stack.region, stack.stack.account
    );
    let role = format!("arn:aws:iam::{}:role/{name}-role", stack.stack.account);
    let exists = clients
        .sfn
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .is_ok();
    let arn = if exists {
        update_state_machine(clients, arn, definition).await?
    } else {
        create_new_state_machine(clients, &name, definition, role).await?
    };
    Ok(Physical {
        reference: arn,
        attributes: BTreeMap::from([("Name".to_owned(), name)]),
    })
}

/// The `DefinitionUri` file with every `${Key}` of `DefinitionSubstitutions` replaced.
fn definition(stack: &Provisioned, template: &Template, props: &Value) -> anyhow::Result<String> {
    let path = template.dir.join(text(props, "DefinitionUri")?);
    let mut definition = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    for (key, value) in props
        .get("DefinitionSubstitutions")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
    {
        let key = key.as_str().context("substitution names are strings")?;
        definition = definition.replace(&format!("${{{key}}}"), &resolve_string(value, stack)?);
    }
    Ok(definition)
}

async fn update_state_machine(clients: &AwsClients, arn: String, definition: String) -> anyhow::Result<String> {
    let update = clients
        .sfn
        .update_state_machine()
        .state_machine_arn(&arn)
        .definition(definition);
    update
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_sdk_sfn::error::DisplayErrorContext(e).to_string()))?;
    Ok(arn)
}

async fn create_new_state_machine(
    clients: &AwsClients,
    name: &str,
    definition: String,
    role: String,
) -> anyhow::Result<String> {
    let create = clients
        .sfn
        .create_state_machine()
        .name(name)
        .definition(definition)
        .role_arn(role);
    let out = create
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_sdk_sfn::error::DisplayErrorContext(e).to_string()))?;
    Ok(out.state_machine_arn)
}
