//! Other modules' directives, mapped onto this engine. Each one is pure:
//! the glue parses the directives and evaluates variables, the mapping
//! decides what the engine does and what the client gets.

pub mod image_filter;
