package mail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kgate/kgate/internal/testenv"
)

// notification is a typical notification: a Japanese subject and a text
// of about a kilobyte (the change, a link, eight fields).
func notification(i int) Message {
	var text strings.Builder
	fmt.Fprintf(&text, "佐藤アリス様\n\n「予算申請」のレコード %d が更新されました。\nhttps://partners.example.com/apps/budget/records/%d\n\n", i, i)
	for _, f := range []string{"件名：展示会ブース出展", "組織：アクメ商事", "金額：1,200,000", "区分：販促", "状態：承認済み", "申請者：佐藤アリス", "承認額：(hidden)", "備考：来期の展示会に向けた共同出展の申請です。"} {
		text.WriteString(f + "\n")
	}
	return Message{To: fmt.Sprintf("member%05d@acme.example", i), Lang: "ja", Kind: "notification",
		Subject: fmt.Sprintf("【予算申請】レコード %d が更新されました", i), Text: text.String()}
}

// BenchmarkQueuedBytes reports what a queued notification costs: on disk
// (file bytes and the blocks they take) and in Redis (used_memory), beside
// the message's own subject and text and its composed form.
func BenchmarkQueuedBytes(b *testing.B) {
	const n = 1000
	ctx := context.Background()
	msgBytes := float64(len(notification(1).Subject) + len(notification(1).Text))
	cfg := Config{SMTP: SMTP{Addr: "127.0.0.1:1"}, From: "Partner Portal <portal@operator.example>"}
	from, _ := fromAddress(cfg.From)
	raw, err := compose(from, notification(1), time.Now())
	if err != nil {
		b.Fatal(err)
	}
	composed := float64(len(raw))
	b.Run("directory", func(b *testing.B) {
		for range b.N {
			dir := b.TempDir()
			o, err := NewDir(dir, cfg)
			if err != nil {
				b.Fatal(err)
			}
			for i := range n {
				if err := o.Enqueue(ctx, notification(i)); err != nil {
					b.Fatal(err)
				}
			}
			var size, blocks int64
			files, _ := filepath.Glob(filepath.Join(dir, "queue", "*.json"))
			for _, f := range files {
				st, _ := os.Stat(f)
				size += st.Size()
				blocks += st.Sys().(*syscall.Stat_t).Blocks * 512
			}
			o.Stop()
			b.ReportMetric(float64(size)/n, "file-bytes/msg")
			b.ReportMetric(float64(blocks)/n, "disk-bytes/msg")
			b.ReportMetric(msgBytes, "text-bytes/msg")
			b.ReportMetric(composed, "composed-bytes/msg")
		}
	})
	b.Run("Redis", func(b *testing.B) {
		r := testenv.StartRedis(b)
		c := redis.NewClient(&redis.Options{Addr: r.Addr})
		defer c.Close()
		for range b.N {
			c.FlushAll(ctx)
			before := usedMemory(b, c)
			o, err := NewRedis(c, cfg)
			if err != nil {
				b.Fatal(err)
			}
			for i := range n {
				if err := o.Enqueue(ctx, notification(i)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(usedMemory(b, c)-before)/n, "redis-bytes/msg")
			b.ReportMetric(msgBytes, "text-bytes/msg")
			b.ReportMetric(composed, "composed-bytes/msg")
			o.Stop()
		}
	})
}

func usedMemory(b *testing.B, c *redis.Client) int64 {
	info, err := c.Info(context.Background(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	b.Fatal("no used_memory")
	return 0
}
