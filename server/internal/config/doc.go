// Package config holds the server's configuration and builds it in four
// layers, each overriding the one before: [Default], then a YAML file
// (--config or HISOKA_CONFIG), then HISOKA_* environment variables, then
// command-line flags. [Load] does all four; [Fields] lists every setting
// with its YAML key, variable and flag.
//
// Sizes are bytes, written as a number or with a suffix (64KiB, 1MiB,
// 1GiB; K, M, G mean the same powers of 1024). Durations use Go syntax
// (10s, 5m). Unknown YAML keys are errors.
package config
