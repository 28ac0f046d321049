//! Where a request comes from: the peer address ([`ClientIp`], [`peer_of`]) and the origin
//! the audit log records ([`origin_of`]). Used by authentication, logging in and the metrics'
//! request log alike, so it sits below all of them.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::header;
use axum::http::request::Parts;
use crm_lib::model::Origin;

/// The request's origin for the audit log: the peer address and the user agent.
pub fn origin_of(parts_headers: &HeaderMap, peer: Option<IpAddr>) -> Origin {
    Origin {
        ip: peer.map(|ip| ip.to_string()),
        user_agent: parts_headers
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(|agent| agent.chars().take(256).collect()),
    }
}

/// The peer address, when the server was started with connect info.
pub fn peer_of(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
}

/// The client's address, when the server runs with connect info (not in `oneshot` tests).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(peer_of(parts)))
    }
}
