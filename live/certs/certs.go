// Package certs makes and loads the cluster's certificates: one CA, a
// manager certificate and one per host, and the mutual-TLS configurations
// built from them.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// ManagerName is the common name of the manager's certificate; agents
// accept commands only from a peer presenting it, signed by the cluster CA.
const ManagerName = "basalt-manager"

// roleFiles are the base names InitCerts writes for the CA and the manager.
// A host's files are <host>.pem and <host>-key.pem, so a host named after
// one of these (or "ca-key", whose .pem is the CA's key) would overwrite a
// key that every other peer depends on.
var roleFiles = []string{"ca", "ca-key", "manager", "manager-key"}

// InitCerts creates a cluster CA and certificates for the manager and each
// host in dir: ca.pem, ca-key.pem, manager.pem/manager-key.pem,
// <host>.pem/<host>-key.pem. Host certificates name the host (DNS) and
// loopback addresses, so that a test cluster on 127.0.0.x works. Unless force
// is set it overwrites nothing: replacing the CA (or its key) would lock
// every running agent out, and a second run must not do that by accident.
func InitCerts(dir string, hosts []string, validity time.Duration, force bool) error {
	if err := checkHostNames(hosts); err != nil {
		return err
	}
	if !force {
		if err := refuseExisting(dir, hosts); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "basalt cluster CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(validity),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("certs: CA: %w", err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	if err := writePEM(filepath.Join(dir, "ca.pem"), "CERTIFICATE", caDER, 0o644); err != nil {
		return err
	}
	if err := writeKey(filepath.Join(dir, "ca-key.pem"), caKey); err != nil {
		return err
	}
	issue := func(name string, dns []string, usage []x509.ExtKeyUsage) error {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{
			SerialNumber: serial(), Subject: pkix.Name{CommonName: name}, DNSNames: dns,
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback},
			NotBefore:   now.Add(-time.Hour), NotAfter: now.Add(validity),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: usage,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return fmt.Errorf("certs: %s: %w", name, err)
		}
		if err := writePEM(filepath.Join(dir, name+".pem"), "CERTIFICATE", der, 0o644); err != nil {
			return err
		}
		return writeKey(filepath.Join(dir, name+"-key.pem"), key)
	}
	if err := issue("manager", []string{ManagerName}, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}); err != nil {
		return err
	}
	for _, h := range hosts {
		if err := issue(h, []string{h}, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}); err != nil {
			return err
		}
	}
	return nil
}

// checkHostNames refuses names that cannot be a certificate's DNS name or
// whose files would collide with the CA's, the manager's or each other's.
func checkHostNames(hosts []string) error {
	if len(hosts) == 0 {
		return fmt.Errorf("certs: at least one host is needed")
	}
	seen := map[string]bool{}
	for _, h := range hosts {
		switch {
		case !hostName.MatchString(h):
			return fmt.Errorf("certs: host %q: a host name is letters, digits, '-' and '.', starting with a letter or digit", h)
		case h == ManagerName || slices.Contains(roleFiles, h) || strings.HasSuffix(h, "-key"):
			return fmt.Errorf("certs: host %q: the name collides with the files of the CA or the manager (%s)", h, strings.Join(roleFiles, ", "))
		case seen[h]:
			return fmt.Errorf("certs: host %q is named twice", h)
		}
		seen[h] = true
	}
	return nil
}

// hostName is what a host may be called: a DNS name, so that it can stand
// in a certificate and as a file name.
var hostName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$`)

// refuseExisting names every file InitCerts would write that is already in
// dir.
func refuseExisting(dir string, hosts []string) error {
	var found []string
	for _, base := range append(slices.Clone(roleFiles), hosts...) {
		for _, name := range []string{base + ".pem", base + "-key.pem"} {
			if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
				found = append(found, name)
			}
		}
	}
	if len(found) > 0 {
		slices.Sort(found)
		found = slices.Compact(found)
		return fmt.Errorf("certs: %s already holds %s; nothing was written (--force replaces them, and locks out every peer still using the old CA)",
			dir, strings.Join(found, ", "))
	}
	return nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

func writePEM(path, kind string, der []byte, mode os.FileMode) error {
	data := pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
	if err := os.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	return nil
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	return writePEM(path, "EC PRIVATE KEY", der, 0o600)
}

// LoadPool reads the cluster CA that every peer's certificate must chain to.
func LoadPool(dir string) (*x509.CertPool, error) {
	data, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("tls: no ca.pem in %s (create one with basalt certs init)", dir)
		}
		return nil, fmt.Errorf("tls: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("tls: %s/ca.pem holds no certificate", dir)
	}
	return pool, nil
}

// LoadPair reads the certificate and key a peer presents as name.
func LoadPair(dir, name string) (tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem"))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls: certificate of %s in %s: %w", name, dir, err)
	}
	return c, nil
}

// AgentTLS is the TLS configuration of host's agent: it serves with the
// host's certificate and requires a client certificate signed by the
// cluster CA that names the manager. Anything else is refused during the
// handshake, with a reason the agent logs.
func AgentTLS(dir, host string) (*tls.Config, error) {
	pool, err := LoadPool(dir)
	if err != nil {
		return nil, err
	}
	cert, err := LoadPair(dir, host)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool,
		VerifyPeerCertificate: func(_ [][]byte, chains [][]*x509.Certificate) error {
			if len(chains) == 0 || len(chains[0]) == 0 {
				return fmt.Errorf("peer presented no verified certificate")
			}
			leaf := chains[0][0]
			if leaf.Subject.CommonName != ManagerName && !slices.Contains(leaf.DNSNames, ManagerName) {
				return fmt.Errorf("peer certificate names %q, not the manager", leaf.Subject.CommonName)
			}
			return nil
		},
	}, nil
}

// ManagerTLS is the manager's TLS configuration for dialing host: its own
// certificate, and the agent's verified against the cluster CA and the host
// name it is expected to have.
func ManagerTLS(dir, host string) (*tls.Config, error) {
	pool, err := LoadPool(dir)
	if err != nil {
		return nil, err
	}
	cert, err := LoadPair(dir, "manager")
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: host}, nil
}
