//! Accessible SVG charts rendered on the server. (Being written.)
