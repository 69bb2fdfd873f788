package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/basalt-ha/basalt/live/daemon"
	"github.com/basalt-ha/basalt/live/ha"
)

// etcdOptions are the flags that reach the etcd of manager high
// availability.
type etcdOptions struct {
	etcd, prefix, ca, cert, key *string
}

func etcdFlags(fs *pflag.FlagSet) *etcdOptions {
	return &etcdOptions{
		etcd:   fs.String("etcd", "", "manager high availability: etcd endpoints, comma-separated (e.g. https://10.0.0.1:2379,...); the state lives there, not in --state-dir"),
		prefix: fs.String("etcd-prefix", "", "with --etcd: the cluster's key prefix (default /basalt/<cluster name>)"),
		ca:     fs.String("etcd-ca", "", "with --etcd: CA certificate of etcd's server certificates (PEM)"),
		cert:   fs.String("etcd-cert", "", "with --etcd: client certificate for etcd (PEM)"),
		key:    fs.String("etcd-key", "", "with --etcd: client key for etcd (PEM)"),
	}
}

// prefixFor is the cluster's key prefix: --etcd-prefix, or the default
// for the cluster's name.
func (o *etcdOptions) prefixFor(cluster string) string {
	if *o.prefix != "" {
		return *o.prefix
	}
	return "/basalt/" + cluster
}

// haOptions are the flags of manager high availability: with --etcd, this
// manager is one replica of several, its state in etcd.
type haOptions struct {
	*etcdOptions
	name          *string
	ttl           *time.Duration
	stateDirGiven func() string
}

func haFlags(fs *pflag.FlagSet) *haOptions {
	host, _ := os.Hostname()
	o := &haOptions{
		etcdOptions: etcdFlags(fs),
		name:        fs.String("name", host, "with --etcd: this manager's name in the election, unique in the cluster"),
		ttl:         fs.Duration("lease-ttl", ha.DefaultTTL, "with --etcd: the leader's lease; a dead leader is replaced within it"),
	}
	o.stateDirGiven = func() string {
		if fs.Changed("state-dir") {
			return "--state-dir"
		}
		return ""
	}
	return o
}

func (o *etcdOptions) on() bool { return *o.etcd != "" }

// check refuses flags that contradict each other.
func (o *haOptions) check(fs *pflag.FlagSet) error {
	if !o.on() {
		for _, f := range []string{"name", "etcd-prefix", "etcd-ca", "etcd-cert", "etcd-key", "lease-ttl"} {
			if fs.Changed(f) {
				return fmt.Errorf("--%s is for manager high availability: give --etcd too", f)
			}
		}
		return nil
	}
	if flag := o.stateDirGiven(); flag != "" {
		return fmt.Errorf("%s and --etcd: with --etcd the manager's state lives in etcd, not in a directory", flag)
	}
	if strings.TrimSpace(*o.name) == "" {
		return errors.New("--name: with --etcd every manager needs a name unique in the cluster")
	}
	return o.etcdOptions.check()
}

func (o *etcdOptions) check() error {
	if (*o.cert == "") != (*o.key == "") {
		return errors.New("--etcd-cert and --etcd-key go together")
	}
	return nil
}

// client connects to etcd (the client dials lazily: an etcd that is down
// leaves the replica standing by, retrying).
func (o *etcdOptions) client() (*clientv3.Client, error) {
	var eps []string
	for _, e := range strings.Split(*o.etcd, ",") {
		if e = strings.TrimSpace(e); e != "" {
			eps = append(eps, e)
		}
	}
	// The client's own retries would log every failed attempt while etcd
	// is down; the replica logs what matters (lease lost, demoted) itself.
	quiet := zap.NewProductionConfig()
	quiet.Level = zap.NewAtomicLevelAt(zap.ErrorLevel)
	cfg := clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second, LogConfig: &quiet}
	if *o.ca != "" || *o.cert != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if *o.ca != "" {
			pem, err := os.ReadFile(*o.ca)
			if err != nil {
				return nil, fmt.Errorf("--etcd-ca: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--etcd-ca %s: no PEM certificate in it", *o.ca)
			}
		}
		if *o.cert != "" {
			kp, err := tls.LoadX509KeyPair(*o.cert, *o.key)
			if err != nil {
				return nil, fmt.Errorf("--etcd-cert/--etcd-key: %w", err)
			}
			tc.Certificates = []tls.Certificate{kp}
		}
		cfg.TLS = tc
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcd %s: %w", *o.etcd, err)
	}
	return cli, nil
}

// runReplica runs this manager as a replica until SIGTERM/SIGINT (or
// stop): standing by, or leading with a manager daemon on the state in
// etcd. Stopping it resigns, so that a standby takes over at once.
func runReplica(o *haOptions, cfg daemon.ManagerDaemonConfig, ignoreLease bool, config, socket string, mode os.FileMode, metricsAddr string, log *slog.Logger, stderr io.Writer, stop <-chan struct{}) int {
	cli, err := o.client()
	if err != nil {
		fmt.Fprintf(stderr, "basalt-manager: %v\n", err)
		return 1
	}
	defer cli.Close()
	r, err := ha.Start(ha.Config{Name: *o.name, Client: cli, Prefix: o.prefixFor(cfg.Model.Cluster.Name), TTL: *o.ttl, Daemon: cfg, Log: log,
		IgnoreLease: ignoreLease})
	if err != nil {
		fmt.Fprintf(stderr, "basalt-manager: %v\n", err)
		return 2
	}
	defer r.Stop()
	log.Info("manager replica started; campaigning", "name", *o.name, "etcd", *o.etcd, "lease_ttl", o.ttl.String())
	return serveManager(r, config, socket, mode, metricsAddr, log, stderr, stop)
}
