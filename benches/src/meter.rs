//! [`Meter`]: an SDK interceptor that counts DynamoDB requests and adds up the capacity
//! DynamoDB reports for them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextMut, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};

/// What DynamoDB was asked and what it charged, as a [`Meter`] saw it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// Requests sent, by operation name (`GetItem`, `Query`, ...).
    pub requests: BTreeMap<&'static str, u32>,
    /// Capacity units of read operations (`GetItem`, `Query`, `BatchGetItem`, `Scan`).
    pub read_units: f64,
    /// Capacity units of write operations (transactions, puts, updates, deletes), indexes
    /// included.
    pub write_units: f64,
    /// Of those, the units DynamoDB attributed to global secondary indexes.
    pub index_units: f64,
    /// The indexes `Query` requests read.
    pub queried: std::collections::BTreeSet<String>,
}

impl Tally {
    /// Every request, whatever its operation.
    pub fn total_requests(&self) -> u32 {
        self.requests.values().sum()
    }

    /// `1 GetItem + 1 TransactWriteItems`, or `none`.
    pub fn describe(&self) -> String {
        if self.requests.is_empty() {
            return "none".into();
        }
        self.requests
            .iter()
            .map(|(op, n)| format!("{n} {op}"))
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

/// An SDK interceptor that counts every DynamoDB request by operation and adds up the
/// `ConsumedCapacity` of every response. It asks for `ReturnConsumedCapacity=INDEXES` on every
/// request that can report capacity (the store asks only on `Query`): this changes what
/// DynamoDB reports, never what it does or charges.
#[derive(Debug, Clone, Default)]
pub struct Meter(Arc<Mutex<Tally>>);

impl Meter {
    /// The tally so far, and a fresh start.
    pub fn take(&self) -> Tally {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    fn count(&self, op: &'static str) {
        *self.0.lock().unwrap().requests.entry(op).or_default() += 1;
    }

    fn charge<'a>(&self, read: bool, capacities: impl IntoIterator<Item = &'a ConsumedCapacity>) {
        let mut t = self.0.lock().unwrap();
        for c in capacities {
            let units = c.capacity_units.unwrap_or_default();
            if read {
                t.read_units += units;
            } else {
                t.write_units += units;
            }
            t.index_units += c
                .global_secondary_indexes
                .iter()
                .flat_map(|m| m.values())
                .map(|i| i.capacity_units.unwrap_or_default())
                .sum::<f64>();
        }
    }
}

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "Meter"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        use aws_sdk_dynamodb::operation as op;
        let input = context.input_mut();
        let indexes = Some(ReturnConsumedCapacity::Indexes);
        if let Some(q) = input.downcast_ref::<op::query::QueryInput>() {
            let index = q.index_name.clone().unwrap_or_else(|| "table".into());
            self.0.lock().unwrap().queried.insert(index);
        }
        macro_rules! ask {
            ($($ty:ty => $name:literal),* $(,)?) => {
                $(if let Some(i) = input.downcast_mut::<$ty>() {
                    i.return_consumed_capacity = indexes;
                    self.count($name);
                    return Ok(());
                })*
            };
        }
        ask!(
            op::get_item::GetItemInput => "GetItem",
            op::query::QueryInput => "Query",
            op::scan::ScanInput => "Scan",
            op::batch_get_item::BatchGetItemInput => "BatchGetItem",
            op::transact_write_items::TransactWriteItemsInput => "TransactWriteItems",
            op::transact_get_items::TransactGetItemsInput => "TransactGetItems",
            op::update_item::UpdateItemInput => "UpdateItem",
            op::put_item::PutItemInput => "PutItem",
            op::delete_item::DeleteItemInput => "DeleteItem",
            op::batch_write_item::BatchWriteItemInput => "BatchWriteItem",
        );
        self.count("other");
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        use aws_sdk_dynamodb::operation as op;
        let Some(Ok(out)) = context.output_or_error() else {
            return Ok(());
        };
        macro_rules! one {
            ($read:expr, $($ty:ty),*) => {
                $(if let Some(o) = out.downcast_ref::<$ty>() {
                    self.charge($read, o.consumed_capacity.iter());
                    return Ok(());
                })*
            };
        }
        macro_rules! many {
            ($read:expr, $($ty:ty),*) => {
                $(if let Some(o) = out.downcast_ref::<$ty>() {
                    self.charge($read, o.consumed_capacity.iter().flatten());
                    return Ok(());
                })*
            };
        }
        one!(
            true,
            op::get_item::GetItemOutput,
            op::query::QueryOutput,
            op::scan::ScanOutput
        );
        many!(
            true,
            op::batch_get_item::BatchGetItemOutput,
            op::transact_get_items::TransactGetItemsOutput
        );
        one!(
            false,
            op::update_item::UpdateItemOutput,
            op::put_item::PutItemOutput,
            op::delete_item::DeleteItemOutput
        );
        many!(
            false,
            op::transact_write_items::TransactWriteItemsOutput,
            op::batch_write_item::BatchWriteItemOutput
        );
        Ok(())
    }
}

/// A DynamoDB Local client, as the harness builds it, with `meter` on it.
pub fn metered_client(endpoint: &str, meter: Meter) -> aws_sdk_dynamodb::Client {
    integration_tests::dynamodb_with(endpoint, meter)
}
