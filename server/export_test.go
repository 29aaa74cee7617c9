package server

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/hisoka-project/hisoka/spec"
)

// ConsoleRoutes lists the console's routes (method and path) as the
// server registered them, for the external tests' page matrix.
func ConsoleRoutes(s *Server) [][2]string {
	var out [][2]string
	for _, r := range s.console.Routes() {
		if r.Method == http.MethodGet || r.Method == http.MethodPost {
			out = append(out, [2]string{r.Method, r.Path})
		}
	}
	return out
}

// SavedCursor is the platform pipeline's cursor as last saved (with the
// heatmap counts, which are saved first).
func (s *Server) SavedCursor(ctx context.Context) uint64 {
	blob, err := s.svc.st.GetState(ctx, pipelineState(spec.TenantPlatform))
	if err != nil {
		return 0
	}
	var saved pipelineSaved
	if json.Unmarshal(blob, &saved) != nil {
		return 0
	}
	return saved.Cursor
}
