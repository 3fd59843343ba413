//! What a request does: the service's one revocation path, and what came of it.

use std::time::Instant;

use crate::events::revocation::parse::{Malformed, Request, Revoke};
use crate::service::{LeakOutcome, TokenService};
use crate::store::{RevokeOutcome, StoreError, TokenStore};

/// What a request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// This many tokens were revoked now.
    Revoked(usize),
    /// Nothing to do: already revoked, or no such token (a replay, or a purged token).
    Nothing,
    /// Part of a user's tokens were revoked before the deadline; the rest is to be done by
    /// a continuation (the handler sends it, see [`handle`](crate::events::revocation::handle)).
    Incomplete(usize),
    /// This many tokens were revoked before the deadline, and the rest was handed on to a
    /// new message on the revocation queue.
    Continued(usize),
    /// An EventBridge event from a `source` not in the list: nothing done (logged, counted).
    Refused,
}

/// Why a request could not be completed.
#[derive(Debug, thiserror::Error)]
pub enum Failed {
    /// Not a request; retrying will not help.
    #[error(transparent)]
    Malformed(#[from] Malformed),
    /// DynamoDB failed; retrying may.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The deadline came first and no continuation could be handed on (no queue, or
    /// [`MAX_PASSES`](crate::events::revocation::MAX_PASSES) reached); delivering the request again continues it.
    #[error("stopped at the deadline after revoking {0} tokens; deliver again to continue")]
    Incomplete(usize),
    /// The deadline came first and sending the continuation failed; delivering the request
    /// again continues it.
    #[error("stopped at the deadline after revoking {revoked} tokens; handing on the rest failed: {error}")]
    Continuation {
        /// Tokens revoked before the deadline.
        revoked: usize,
        /// Why `SendMessage` failed.
        error: String,
    },
}

/// Carries out one request through the service's one revocation path. `via` (where the
/// request came from) is recorded as `revoked_via` beside the actor. A user's revocation
/// cut short by `deadline` is [`Done::Incomplete`]: the caller continues it.
pub async fn apply<S: TokenStore>(
    service: &TokenService<S>,
    revoke: &Revoke,
    default_actor: &str,
    via: Option<&str>,
    deadline: Option<Instant>,
) -> Result<Done, Failed> {
    let actor = revoke.actor.as_deref().unwrap_or(default_actor);
    let reason = revoke.reason.as_deref();
    let single = |outcome: RevokeOutcome<()>| match outcome {
        RevokeOutcome::Revoked(_) => Done::Revoked(1),
        RevokeOutcome::Unchanged(_) => Done::Nothing,
    };
    match &revoke.request {
        Request::Token {
            tenant_id,
            token_id,
        } => {
            let outcome = service
                .revoke_in(tenant_id, None, *token_id, actor, via, reason)
                .await?;
            if matches!(&outcome, RevokeOutcome::Unchanged(t) if t.as_ref().is_none_or(|t| &t.tenant_id != tenant_id))
            {
                tracing::warn!(tenant = %tenant_id, token_id = %token_id, "revocation event for a token that does not exist in its tenant");
            }
            Ok(single(outcome))
        }
        Request::User { tenant_id, user_id } => {
            let bulk =
                Box::pin(service.revoke_user(tenant_id, user_id, actor, via, reason, deadline))
                    .await?;
            match (bulk.complete, bulk.revoked) {
                (false, n) => Ok(Done::Incomplete(n)),
                (true, 0) => Ok(Done::Nothing),
                (true, n) => Ok(Done::Revoked(n)),
            }
        }
        Request::LeakedSecret { secret } => {
            match service.revoke_leaked(secret, actor, via, reason).await? {
                LeakOutcome::Malformed => Err(Malformed::NotAToken.into()),
                LeakOutcome::Unknown => {
                    tracing::warn!("leaked-secret event for a secret that matches no token");
                    Ok(Done::Nothing)
                }
                LeakOutcome::Revoked => Ok(Done::Revoked(1)),
                LeakOutcome::AlreadyRevoked => Ok(Done::Nothing),
            }
        }
    }
}
