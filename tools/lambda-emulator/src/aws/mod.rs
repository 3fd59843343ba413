//! Stand-ins for the AWS services the functions call.

pub mod credentials;
