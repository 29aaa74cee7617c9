package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"

	"github.com/hisoka-project/hisoka/server"
)

func lookupEnv(e *env) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v := e.getenv(k)
		return v, v != ""
	}
}

// runServe is "hisoka serve": the API, syslog listeners and pipeline until
// interrupted, then a graceful shutdown (listeners drain into the store,
// the pipeline saves its state).
func runServe(ctx context.Context, e *env, args []string) error {
	cfg, err := server.LoadConfig(args, lookupEnv(e), e.stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	log := server.NewLogger(cfg, e.stderr)
	s, err := server.Open(ctx, cfg, log, rand.Reader)
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		s.Close()
		return err
	}
	log.Info("hisoka serving", "config", cfg)
	<-ctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.HTTP.ShutdownTimeout)
	defer cancel()
	err = s.Shutdown(sctx)
	return errors.Join(err, s.Close())
}
