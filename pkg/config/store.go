package config

import (
	"context"
	"sync/atomic"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
)

type cfgKey struct{}

// Store holds the last good config-materialize. An invalid update is
// logged and ignored, so a typo never changes how runs behave.
type Store struct {
	logger  *zap.SugaredLogger
	current atomic.Pointer[Config]
}

// NewStore returns a store holding the defaults until the ConfigMap is seen.
func NewStore(logger *zap.SugaredLogger) *Store {
	s := &Store{logger: logger}
	s.current.Store(Default())
	return s
}

// OnConfigChanged is the ConfigMap watcher's callback.
func (s *Store) OnConfigChanged(cm *corev1.ConfigMap) {
	c, err := FromConfigMap(cm)
	if err != nil {
		s.logger.Errorw("Ignoring invalid config-materialize; the previous configuration stays in force", zap.Error(err))
		return
	}
	s.current.Store(c)
	s.logger.Infow("Loaded config-materialize", "threshold", c.Threshold, "maxInlineTotal", c.MaxInlineTotal,
		"defaultOnOversize", c.DefaultOnOversize, "readerImage", c.ReaderImage, "readerStartTimeout", c.ReaderStartTimeout.String(), "readerReadTimeout", c.ReaderReadTimeout.String())
}

// Load returns the configuration in force.
func (s *Store) Load() *Config { return s.current.Load() }

// ToContext attaches the configuration in force to ctx, so one reconcile
// sees one configuration throughout.
func (s *Store) ToContext(ctx context.Context) context.Context {
	return WithConfig(ctx, s.Load())
}

// WithConfig attaches c to ctx.
func WithConfig(ctx context.Context, c *Config) context.Context {
	return context.WithValue(ctx, cfgKey{}, c)
}

// FromContext returns the configuration attached to ctx, or the defaults.
func FromContext(ctx context.Context) *Config {
	if c, ok := ctx.Value(cfgKey{}).(*Config); ok {
		return c
	}
	return Default()
}
