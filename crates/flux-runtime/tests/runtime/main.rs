//! Integration tests of flux-runtime (one binary): the controller loop on the embedded
//! API server with a scripted reconciler over GitRepository objects, the event
//! forwarder against a local HTTP sink, and the admin server.

mod controller;
