//! Creating, checking, waiting for and deleting the two tables.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ProvisionedThroughput,
    ScalarAttributeType, TableClass as SdkTableClass, TableDescription, TableStatus,
};

use super::errors::{build_err, Ctx};
use super::DynamoStore;
use crate::store::error::{StoreError, StoreResult};
use crate::store::types::*;

const TABLE_POLL: Duration = Duration::from_millis(500);
const TABLE_WAIT: Duration = Duration::from_secs(300);

impl DynamoStore {
    /// `None`: the table does not exist.
    pub(super) async fn describe(&self, name: &str) -> StoreResult<Option<TableDescription>> {
        match self.client().describe_table().table_name(name).send().await {
            Ok(out) => Ok(out.table),
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(self.map_err(e, Ctx::new("DescribeTable", name))),
        }
    }

    pub(super) async fn create_table(&self, name: &str, billing: Billing) -> StoreResult<()> {
        let mut req = self.client().create_table().table_name(name);
        for (attr, kt) in [("p", KeyType::Hash), ("s", KeyType::Range)] {
            req = req
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(attr)
                        .attribute_type(ScalarAttributeType::B)
                        .build()
                        .map_err(build_err)?,
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(attr)
                        .key_type(kt)
                        .build()
                        .map_err(build_err)?,
                );
        }
        let (mode, units) = capacity(billing)?;
        req = req.billing_mode(mode).set_provisioned_throughput(units);
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ResourceInUseException") => {
                match self.describe(name).await?.map(|d| schema_state(&d)) {
                    Some(TableState::Foreign(found)) => Err(StoreError::Invalid(format!(
                        "table {name} already exists with another layout: {found}"
                    ))),
                    _ => Ok(()),
                }
            }
            Err(e) => Err(self.map_err(e, Ctx::new("CreateTable", name))),
        }
    }

    /// A table that is already gone counts as deleted.
    pub(super) async fn delete_table(&self, name: &str) -> StoreResult<()> {
        let deadline = Instant::now() + TABLE_WAIT;
        loop {
            match self.client().delete_table().table_name(name).send().await {
                Ok(_) => return Ok(()),
                Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(()),
                // Still being created or updated: it can be deleted once ACTIVE.
                Err(e)
                    if e.code() == Some("ResourceInUseException") && Instant::now() < deadline =>
                {
                    tokio::time::sleep(TABLE_POLL).await;
                }
                Err(e) => return Err(self.map_err(e, Ctx::new("DeleteTable", name))),
            }
        }
    }

    /// Change a setting of a table, unless it has it already (DynamoDB
    /// refuses an update that changes nothing), and wait until it is
    /// ACTIVE again.
    pub(super) async fn update_table(&self, name: &str, change: TableChange) -> StoreResult<()> {
        let d = self
            .describe(name)
            .await?
            .ok_or_else(|| StoreError::TableMissing {
                table: name.to_string(),
                hint: None,
            })?;
        let req = self.client().update_table().table_name(name);
        let req = match change {
            TableChange::Billing(billing) => {
                if billing_of(&d) == Some(billing) {
                    return Ok(());
                }
                let (mode, units) = capacity(billing)?;
                req.billing_mode(mode).set_provisioned_throughput(units)
            }
            TableChange::Class(class) => {
                if class_of(&d) == class {
                    return Ok(());
                }
                req.table_class(match class {
                    TableClass::Standard => SdkTableClass::Standard,
                    TableClass::InfrequentAccess => SdkTableClass::StandardInfrequentAccess,
                })
            }
        };
        req.send()
            .await
            .map_err(|e| self.map_err(e, Ctx::new("UpdateTable", name)))?;
        self.wait_table(name, "ACTIVE", is_active).await
    }

    /// Polls until `done` holds for the table's description (None: absent).
    pub(super) async fn wait_table(
        &self,
        name: &str,
        what: &str,
        done: impl Fn(Option<&TableDescription>) -> bool,
    ) -> StoreResult<()> {
        let deadline = Instant::now() + TABLE_WAIT;
        loop {
            if done(self.describe(name).await?.as_ref()) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(StoreError::Timeout(format!(
                    "table {name} not {what} after {} s",
                    TABLE_WAIT.as_secs()
                )));
            }
            tokio::time::sleep(TABLE_POLL).await;
        }
    }
}

/// A table's capacity mode, when the description says it plainly.
fn billing_of(d: &TableDescription) -> Option<Billing> {
    let mode = d.billing_mode_summary().and_then(|b| b.billing_mode());
    let units = d.provisioned_throughput().map(|p| Billing::Provisioned {
        read: p.read_capacity_units().unwrap_or(0),
        write: p.write_capacity_units().unwrap_or(0),
    });
    match mode {
        Some(BillingMode::PayPerRequest) => Some(Billing::OnDemand),
        _ => units,
    }
}

/// A table's class (DynamoDB names none for Standard tables made before
/// classes existed).
pub(super) fn class_of(d: &TableDescription) -> TableClass {
    match d.table_class_summary().and_then(|c| c.table_class()) {
        Some(SdkTableClass::StandardInfrequentAccess) => TableClass::InfrequentAccess,
        _ => TableClass::Standard,
    }
}

/// DynamoDB's words for a capacity mode.
fn capacity(billing: Billing) -> StoreResult<(BillingMode, Option<ProvisionedThroughput>)> {
    Ok(match billing {
        Billing::OnDemand => (BillingMode::PayPerRequest, None),
        Billing::Provisioned { read, write } => (
            BillingMode::Provisioned,
            Some(
                ProvisionedThroughput::builder()
                    .read_capacity_units(read)
                    .write_capacity_units(write)
                    .build()
                    .map_err(build_err)?,
            ),
        ),
    })
}

/// Ready or Foreign by key schema alone; status is the caller's business.
pub(super) fn schema_state(d: &TableDescription) -> TableState {
    let type_of = |attr: &str| {
        d.attribute_definitions()
            .iter()
            .find(|a| a.attribute_name() == attr)
            .map(|a| a.attribute_type().as_str().to_string())
            .unwrap_or_else(|| "?".into())
    };
    let found: Vec<(String, String, String)> = d
        .key_schema()
        .iter()
        .map(|k| {
            let name = k.attribute_name().to_string();
            let ty = type_of(&name);
            (name, ty, k.key_type().as_str().to_string())
        })
        .collect();
    let ours = |n: &str, t: &str, k: &str| (n.to_string(), t.to_string(), k.to_string());
    if found == [ours("p", "B", "HASH"), ours("s", "B", "RANGE")] {
        return TableState::Ready;
    }
    let shown: Vec<String> = found
        .iter()
        .map(|(n, t, k)| format!("{n} ({t}, {k})"))
        .collect();
    TableState::Foreign(format!(
        "key schema {} (expected p (B, HASH), s (B, RANGE))",
        shown.join(", ")
    ))
}

pub(super) fn is_active(d: Option<&TableDescription>) -> bool {
    d.is_some_and(|d| d.table_status() == Some(&TableStatus::Active))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(schema: &[(&str, ScalarAttributeType, KeyType)]) -> TableDescription {
        let mut d = TableDescription::builder();
        for (name, ty, kt) in schema {
            let def = AttributeDefinition::builder()
                .attribute_name(*name)
                .attribute_type(ty.clone())
                .build();
            let ks = KeySchemaElement::builder()
                .attribute_name(*name)
                .key_type(kt.clone())
                .build();
            if let (Ok(def), Ok(ks)) = (def, ks) {
                d = d.attribute_definitions(def).key_schema(ks);
            }
        }
        d.build()
    }

    #[test]
    fn foreign_key_schemas() {
        use ScalarAttributeType::{B, S};
        let ours = table(&[("p", B, KeyType::Hash), ("s", B, KeyType::Range)]);
        assert_eq!(schema_state(&ours), TableState::Ready);
        match schema_state(&table(&[("id", S, KeyType::Hash)])) {
            TableState::Foreign(why) => {
                assert!(why.starts_with("key schema id (S, HASH)"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        let swapped = table(&[("p", S, KeyType::Hash), ("s", B, KeyType::Range)]);
        assert!(matches!(schema_state(&swapped), TableState::Foreign(_)));
    }
}
