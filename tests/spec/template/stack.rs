//! The stack as an operator deploys it, and as other teams' APIs use it: names, log groups,
//! concurrency, and what the authorizer exports.

use super::{template, yaml};

/// Two stacks of one `Stage` deploy side by side in one account: every name the template
/// gives a resource derives from the stack's name (or is CloudFormation's, unique anyway).
#[test]
fn every_resource_name_derives_from_the_stack_name() {
    let t = template();
    let name_properties = [
        "Name",
        "TableName",
        "FunctionName",
        "QueueName",
        "LogGroupName",
        "RoleName",
        "ManagedPolicyName",
        "AlarmName",
        "TopicName",
    ];
    let mut named = 0;
    for (id, resource) in t["Resources"].as_mapping().unwrap() {
        for property in name_properties {
            let value = &resource["Properties"][property];
            if value.is_null() {
                continue;
            }
            let text = yaml(value);
            // A reference to another resource's name (a metric filter's log group) names
            // nothing new.
            if text.starts_with("!Ref ") || text.starts_with("!GetAtt ") {
                continue;
            }
            named += 1;
            // The stack's name, or the id of the stack's own API (unique in the region).
            assert!(
                text.contains("${AWS::StackName}") || text.contains("${TokensApi}"),
                "{id:?}.{property} = {text}: two stacks would collide"
            );
        }
    }
    assert!(named >= 9, "the log groups and the bus are named: {named}");
    // The denials metric is the stack's own too.
    let namespace = yaml(&t["Resources"]["AuthorizerDenialsAlarm"]["Properties"]["Namespace"]);
    assert!(namespace.contains("${AWS::StackName}"), "{namespace}");
}

/// Every function writes to a log group of the stack's, with the retention the operator
/// chose, and reserves its own concurrency (the sweeper exactly one).
#[test]
fn every_function_has_its_log_group_retention_and_concurrency() {
    let t = template();
    let resources = &t["Resources"];
    for (id, resource) in resources.as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let p = &resource["Properties"];
        let group = yaml(&p["LoggingConfig"]["LogGroup"]);
        let group = group
            .strip_prefix("!Ref ")
            .expect("a log group of the stack");
        assert_eq!(
            yaml(&resources[group]["Properties"]["RetentionInDays"]),
            "!Ref LogRetentionDays",
            "{id:?}"
        );
        let reserved = yaml(&p["ReservedConcurrentExecutions"]);
        if id == "TokensExpireFunction" {
            assert_eq!(reserved, "1");
            assert_eq!(p["EventInvokeConfig"]["MaximumRetryAttempts"], 0);
            assert_eq!(
                p["Events"]["EveryMinute"]["Properties"]["RetryPolicy"]["MaximumRetryAttempts"],
                0
            );
        } else {
            assert!(
                reserved.starts_with("!If") && reserved.contains("ReservedConcurrency"),
                "{id:?}: {reserved}"
            );
        }
    }
    assert!(t["Globals"]["Function"]["ReservedConcurrentExecutions"].is_null());
}

/// Other teams' APIs use the authorizer: its alias, the declarations' prefix, the token prefix
/// and the bus are exported; API Gateway may invoke it for this account's APIs (and the listed
/// accounts'); the service's own API declares its routes like any other.
#[test]
fn the_authorizer_is_exported_invokable_and_reads_route_declarations() {
    let t = template();
    let outputs = &t["Outputs"];
    for (output, value) in [
        (
            "AuthorizerFunctionArn",
            "!Ref TokensAuthorizerFunction.Alias",
        ),
        (
            "RouteScopesParameterPrefix",
            "!Ref RouteScopesParameterPrefix",
        ),
        ("TokenPrefix", "!Ref TokenPrefix"),
        ("EventBusName", "!Ref TokensEventBus"),
    ] {
        assert_eq!(yaml(&outputs[output]["Value"]), value, "{output}");
        assert_eq!(
            yaml(&outputs[output]["Export"]["Name"]),
            format!("!Sub ${{AWS::StackName}}-{output}"),
            "{output}"
        );
    }
    let resources = &t["Resources"];
    let authorizer = &resources["TokensAuthorizerFunction"]["Properties"];
    assert_eq!(authorizer["AutoPublishAlias"], "live");
    assert_eq!(
        yaml(&authorizer["Environment"]["Variables"]["ROUTE_SCOPES_PARAMETER_PREFIX"]),
        "!Ref RouteScopesParameterPrefix"
    );
    let statements = yaml(&authorizer["Policies"]);
    assert!(
        statements.contains("ssm:GetParameters")
            && statements.contains(":parameter${RouteScopesParameterPrefix}*"),
        "{statements}"
    );
    let api_auth = &resources["TokensApi"]["Properties"]["Auth"]["Authorizers"]["TokenAuthorizer"];
    assert_eq!(
        yaml(&api_auth["FunctionArn"]),
        "!Ref TokensAuthorizerFunction.Alias"
    );
    let context = yaml(&api_auth["Identity"]["Context"]);
    assert!(
        context.contains("identity.sourceIp") && context.contains("routeKey"),
        "{context}"
    );

    let permission = &resources["AuthorizerInvokePermission"]["Properties"];
    assert_eq!(permission["Principal"], "apigateway.amazonaws.com");
    assert_eq!(
        yaml(&permission["FunctionName"]),
        "!Ref TokensAuthorizerFunction.Alias"
    );
    assert!(yaml(&permission["SourceArn"]).contains(":${AWS::AccountId}:*/authorizers/*"));
    for slot in 0..3 {
        let other = &resources[format!("AuthorizerInvokePermissionAccount{slot}").as_str()];
        assert_eq!(other["Condition"], format!("HasInvokerAccount{slot}"));
    }

    let own = &resources["TokensApiRouteScopes"]["Properties"];
    assert_eq!(own["Type"], "String");
    let declaration: serde_json::Value =
        serde_json::from_str(own["Value"].as_str().unwrap()).unwrap();
    assert_eq!(
        declaration,
        serde_json::json!({"version": 1, "default": "authenticated", "limits": "context", "routes": {}})
    );
}

/// The alarms an operator of the deployed stack relies on watch what their names say.
#[test]
fn the_health_alarms_watch_their_metrics() {
    let t = template();
    let resources = &t["Resources"];
    for (alarm, namespace, metric, dimension) in [
        (
            "ApiServerErrorsAlarm",
            "AWS/ApiGateway",
            "5xx",
            "!Ref TokensApi",
        ),
        (
            "ApiLatencyAlarm",
            "AWS/ApiGateway",
            "Latency",
            "!Ref TokensApi",
        ),
        (
            "PublisherIteratorAgeAlarm",
            "AWS/Lambda",
            "IteratorAge",
            "!Ref TokensPublishEventsFunction",
        ),
        (
            "RevocationQueueAgeAlarm",
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            "!GetAtt RevocationQueue.QueueName",
        ),
    ] {
        let p = &resources[alarm]["Properties"];
        assert_eq!(p["Namespace"], namespace, "{alarm}");
        assert_eq!(p["MetricName"], metric, "{alarm}");
        assert_eq!(yaml(&p["Dimensions"][0]["Value"]), dimension, "{alarm}");
    }
    assert_eq!(
        resources["ApiLatencyAlarm"]["Properties"]["ExtendedStatistic"],
        "p99"
    );
    let throttles = yaml(&resources["TableThrottlesAlarm"]["Properties"]["Metrics"]);
    for part in [
        "ReadThrottleEvents",
        "WriteThrottleEvents",
        "!Ref TokensTable",
    ] {
        assert!(throttles.contains(part), "{part}: {throttles}");
    }
    // The sweeper throttles by design (one at a time): its throttles alarm leaves it out.
    let function_throttles = yaml(&resources["FunctionThrottlesAlarm"]["Properties"]["Metrics"]);
    assert!(!function_throttles.contains("TokensExpireFunction"));
}
