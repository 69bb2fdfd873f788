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
		if err := refuseExisting(dir, append(slices.Clone(roleFiles), hosts...),
			"--force replaces them, and locks out every peer still using the old CA"); err != nil {
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
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return fmt.Errorf("certs: CA: %w", err)
	}
	if err := writePEM(filepath.Join(dir, "ca.pem"), "CERTIFICATE", caDER, 0o644); err != nil {
		return err
	}
	if err := writeKey(filepath.Join(dir, "ca-key.pem"), caKey); err != nil {
		return err
	}
	auth := authority{cert: ca, key: caKey}
	notAfter := now.Add(validity)
	if err := auth.issue(dir, "manager", []string{ManagerName}, now, notAfter); err != nil {
		return err
	}
	return auth.issueHosts(dir, hosts, now, notAfter)
}

// AddCerts issues certificates for hosts joining a running cluster, signed
// by the CA already in dir (ca.pem and ca-key.pem, as InitCerts wrote
// them), exactly as InitCerts issues a host's, and returns the paths it
// wrote. Every check comes before the first write, so that a refusal
// writes nothing: dir must hold the CA and its key, the key must be the
// certificate's, the names must be valid, and a host's files already there
// are kept unless force is set. A certificate never outlives the CA that
// signs it: validity is cut to the CA's own end.
func AddCerts(dir string, hosts []string, validity time.Duration, force bool) ([]string, error) {
	if err := checkHostNames(hosts); err != nil {
		return nil, err
	}
	auth, err := loadAuthority(dir)
	if err != nil {
		return nil, err
	}
	if !force {
		if err := refuseExisting(dir, hosts, "--force replaces them; the host then needs its new pair"); err != nil {
			return nil, err
		}
	}
	now := time.Now()
	if !now.Before(auth.cert.NotAfter) {
		return nil, fmt.Errorf("certs: the CA in %s expired on %s: nothing it signs is accepted (a new CA needs basalt certs init --force, and every host its new certificate)",
			dir, auth.cert.NotAfter.UTC().Format(time.RFC3339))
	}
	notAfter := now.Add(validity)
	if notAfter.After(auth.cert.NotAfter) {
		notAfter = auth.cert.NotAfter
	}
	if err := auth.issueHosts(dir, hosts, now, notAfter); err != nil {
		return nil, err
	}
	var written []string
	for _, h := range hosts {
		written = append(written, filepath.Join(dir, h+".pem"), filepath.Join(dir, h+"-key.pem"))
	}
	return written, nil
}

// authority is the cluster CA: its certificate and the key that signs.
type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// peerUsage is what the manager's and a host's certificate are for: each
// peer serves with it and presents it as a client too.
var peerUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}

// issueHosts writes each host's pair: the host's name as its DNS name.
func (a authority) issueHosts(dir string, hosts []string, notBefore, notAfter time.Time) error {
	for _, h := range hosts {
		if err := a.issue(dir, h, []string{h}, notBefore, notAfter); err != nil {
			return err
		}
	}
	return nil
}

// issue writes <name>.pem and <name>-key.pem in dir: a new P-256 key and
// its certificate, signed by a, naming dns and the loopback addresses (so
// that a test cluster on 127.0.0.x works), valid an hour before notBefore
// (clocks of the peers differ) until notAfter.
func (a authority) issue(dir, name string, dns []string, notBefore, notAfter time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("certs: %s: %w", name, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: name}, DNSNames: dns,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback},
		NotBefore:   notBefore.Add(-time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: peerUsage,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return fmt.Errorf("certs: %s: %w", name, err)
	}
	if err := writePEM(filepath.Join(dir, name+".pem"), "CERTIFICATE", der, 0o644); err != nil {
		return err
	}
	return writeKey(filepath.Join(dir, name+"-key.pem"), key)
}

// loadAuthority reads the CA that InitCerts wrote in dir and checks that
// its key is the certificate's: a certificate signed by another key would
// be refused by every peer, long after it was installed.
func loadAuthority(dir string) (authority, error) {
	read := func(name string) (*pem.Block, error) {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("certs: no %s in %s: adding a host needs the cluster's CA (create one with basalt certs init)", name, dir)
		}
		if err != nil {
			return nil, fmt.Errorf("certs: %w", err)
		}
		block, _ := pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("certs: %s holds no PEM block", path)
		}
		return block, nil
	}
	certBlock, err := read("ca.pem")
	if err != nil {
		return authority{}, err
	}
	keyBlock, err := read("ca-key.pem")
	if err != nil {
		return authority{}, err
	}
	cert, err := x509.ParseCertificate(certBlock.Bytes)
	if err != nil {
		return authority{}, fmt.Errorf("certs: %s: %w", filepath.Join(dir, "ca.pem"), err)
	}
	if !cert.IsCA {
		return authority{}, fmt.Errorf("certs: %s is not a CA certificate", filepath.Join(dir, "ca.pem"))
	}
	key, err := parseKey(keyBlock)
	if err != nil {
		return authority{}, fmt.Errorf("certs: %s: %w", filepath.Join(dir, "ca-key.pem"), err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return authority{}, fmt.Errorf("certs: %s is not the key of %s: nothing was written (the two must come from the same basalt certs init)",
			filepath.Join(dir, "ca-key.pem"), filepath.Join(dir, "ca.pem"))
	}
	return authority{cert: cert, key: key}, nil
}

// parseKey reads an ECDSA key as InitCerts writes it (SEC 1, "EC PRIVATE
// KEY") or in PKCS #8, as openssl writes it by default.
func parseKey(block *pem.Block) (*ecdsa.PrivateKey, error) {
	if key, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return key, nil
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not an ECDSA private key: %w", err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T key, not ECDSA", parsed)
	}
	return key, nil
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

// refuseExisting names every pair of files (base.pem, base-key.pem) that is
// already in dir, and what --force would do about them.
func refuseExisting(dir string, bases []string, force string) error {
	var found []string
	for _, base := range bases {
		for _, name := range []string{base + ".pem", base + "-key.pem"} {
			if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
				found = append(found, name)
			}
		}
	}
	if len(found) > 0 {
		slices.Sort(found)
		found = slices.Compact(found)
		return fmt.Errorf("certs: %s already holds %s; nothing was written (%s)", dir, strings.Join(found, ", "), force)
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
