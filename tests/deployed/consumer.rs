//! A consumer's stack deployed beside the token stack, as a team adopting the tokens deploys
//! it: its own model (`scripts/deployment-model` with the token stack's exports imported), its
//! own AWS stand-in (its functions' calls recorded for its own IAM check), its own Lambda
//! service, and its APIs invoking its functions and the token stack's authorizer through one
//! [`Router`] (by the imported alias ARN, as API Gateway does). The token stack's SSM stand-in
//! serves the consumer's route declarations: one account's parameters.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use hyper::Method;
use lambda_emulator::apigw::{
    serve_http_api, HttpApiServer, RestApiConfig, RestAuthorizer, RestAuthorizerKind,
};
use lambda_emulator::aws::AwsStandIn;
use lambda_emulator::invoke::{Invoke, Router};
use lambda_emulator::lambda::Lambda;
use lambda_emulator::model::{Deployment, Table};
use serde_json::Value;

use crate::stack::{emulator_dir, request, Reply, Stack, Template, LOCALHOST};

/// The token stack and a consumer stack beside it.
pub struct Consumer {
    /// The token stack (its HTTP API, service and tables).
    pub tokens: Stack,
    /// The consumer's model.
    pub deployment: Deployment,
    /// The consumer's functions.
    pub lambda: Lambda,
    /// The consumer's AWS stand-in.
    pub aws: AwsStandIn,
    /// Both stacks' functions.
    pub router: Router,
    /// The consumer's HTTP API.
    pub api: HttpApiServer,
}

impl Consumer {
    /// Starts the token stack (default template) and the consumer stack of `model` (a file in
    /// the emulator directory), serving the consumer's HTTP API `http_api`.
    pub async fn start(model: &str, http_api: &str) -> Self {
        let dir = emulator_dir();
        let deployment = Deployment::read(&dir.join(model))
            .unwrap_or_else(|e| panic!("{e}: run ./scripts/test-lambda"));
        let declarations = deployment.ssm_parameters.clone();
        let tokens =
            Stack::start_with(Template::Default, |d| d.ssm_parameters.extend(declarations)).await;
        for table in deployment.tables.values() {
            create_table(&tokens.dynamodb, table).await;
        }
        let (aws, lambda) = crate::stack::run_functions(&deployment, BTreeMap::new()).await;
        let router = Router::new()
            .with(&deployment, Arc::new(lambda.clone()))
            .with(&tokens.deployment, Arc::new(tokens.lambda.clone()));
        let api = serve_http_api(
            &deployment.http_apis[http_api],
            &deployment,
            Arc::new(router.clone()),
        )
        .await
        .expect("the consumer's HTTP API");
        Self {
            tokens,
            deployment,
            lambda,
            aws,
            router,
            api,
        }
    }

    /// Both stacks' functions, for API Gateway stand-ins.
    pub fn invoker(&self) -> Arc<dyn Invoke> {
        Arc::new(self.router.clone())
    }

    /// A request to the consumer's HTTP API from 127.0.0.1.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Reply {
        request(self.api.addr(), LOCALHOST, method, path, Some(token), body).await
    }

    /// The REST stand-in's configuration for the model's REST API `logical_id`: its methods
    /// and its one authorizer (the stand-in puts one authorizer on every method).
    pub fn rest_config(&self, logical_id: &str) -> RestApiConfig {
        let api = &self.deployment.rest_apis[logical_id];
        let names: Vec<&String> = api.routes.iter().flat_map(|r| &r.authorizer).collect();
        let name = names.first().expect("a method with an authorizer");
        assert!(
            names.iter().all(|n| n == name),
            "one authorizer on every method"
        );
        let model = &api.authorizers[*name];
        let kind = match model.kind.as_str() {
            "TOKEN" => RestAuthorizerKind::Token {
                header: model.identity_sources[0]
                    .trim_start_matches("method.request.header.")
                    .to_owned(),
                validation_regex: model.validation_expression.clone(),
            },
            _ => RestAuthorizerKind::Request {
                identity_sources: model.identity_sources.clone(),
            },
        };
        let function = match model.function.as_str() {
            "" => model.function_arn.clone(),
            own => own.to_owned(),
        };
        RestApiConfig {
            id: api.id.clone(),
            stage: api.stage.clone(),
            resources: api
                .routes
                .iter()
                .map(|r| (r.method.clone(), r.path.clone()))
                .collect(),
            authorizer: RestAuthorizer {
                function,
                kind,
                result_ttl_seconds: model.result_ttl_seconds,
            },
        }
    }
}

/// Creates `table` as the model describes it in DynamoDB Local (on-demand, indexes projecting
/// everything); an existing one is kept.
pub async fn create_table(dynamodb: &aws_sdk_dynamodb::Client, table: &Table) {
    let key = |name: &str, kind: KeyType| {
        let element = KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind);
        element.build().expect("a key element")
    };
    let keys = |pk: &str, sk: &Option<String>| {
        let mut out = vec![key(pk, KeyType::Hash)];
        out.extend(sk.iter().map(|sk| key(sk, KeyType::Range)));
        out
    };
    let mut create = dynamodb
        .create_table()
        .table_name(&table.name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(keys(&table.partition_key, &table.sort_key)));
    for (name, kind) in &table.attributes {
        let definition = AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::from(kind.as_str()));
        create = create.attribute_definitions(definition.build().expect("an attribute"));
    }
    for (name, index) in &table.indexes {
        let projection = Projection::builder().projection_type(ProjectionType::All);
        let index = GlobalSecondaryIndex::builder()
            .index_name(name)
            .set_key_schema(Some(keys(&index.partition_key, &index.sort_key)))
            .projection(projection.build());
        create = create.global_secondary_indexes(index.build().expect("an index"));
    }
    match create.send().await {
        Ok(_) => {}
        Err(e) if format!("{e:?}").contains("ResourceInUse") => {}
        Err(e) => panic!("create {}: {e:?}", table.name),
    }
}
