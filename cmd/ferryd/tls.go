package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/ferryftp/ferry/ftp"
)

// tlsOptions are the FTPS settings of the daemon. Explicit FTPS (AUTH TLS,
// RFC 4217) is always offered on the main listener: with the certificate
// of -tls-cert and -tls-key, or else with a self-signed certificate made at
// start, so that FTPS works out of the box. It is required only with
// -tls-required or -tls-client-ca.
type tlsOptions struct {
	certFile, keyFile string // PEM; reloaded when they change
	implicitListen    string // address for implicit FTPS, "" for none
	required          bool   // TLS for logins and data
	clientCA          string // PEM CAs that client certificates must chain to
}

func (o *tlsOptions) register(fl *flag.FlagSet) {
	fl.StringVar(&o.certFile, "tls-cert", "", "TLS certificate chain, PEM `file` (default: a generated self-signed certificate)")
	fl.StringVar(&o.keyFile, "tls-key", "", "TLS private key, PEM `file`")
	fl.StringVar(&o.implicitListen, "implicit-listen", "", "`address` for implicit FTPS (TLS before the greeting)")
	fl.BoolVar(&o.required, "tls-required", false, "refuse logins and transfers without TLS")
	fl.StringVar(&o.clientCA, "tls-client-ca", "", "require TLS client certificates issued by the CAs of this PEM `file`")
}

// setupTLS applies o to srv and opens the implicit FTPS listener, nil
// without -implicit-listen. listen is the main listener's address; its host
// goes into a generated certificate.
func setupTLS(srv *ftp.Server, o *tlsOptions, listen string, stdout io.Writer) (net.Listener, error) {
	cfg, err := o.tlsConfig([]string{listen, o.implicitListen}, stdout)
	if err != nil {
		return nil, err
	}
	srv.TLSConfig = cfg
	if o.required {
		srv.RequireTLS, srv.RequireDataTLS = true, true
	}
	if o.clientCA != "" {
		// A client certificate means nothing if the login can skip
		// TLS altogether.
		srv.RequireTLS = true
	}
	switch {
	case srv.RequireDataTLS:
		fmt.Fprintln(stdout, "ferryd: TLS required for logins and transfers")
	case srv.RequireTLS:
		fmt.Fprintln(stdout, "ferryd: TLS required for logins")
	}
	if o.implicitListen == "" {
		return nil, nil
	}
	return net.Listen("tcp", o.implicitListen)
}

// tlsConfig builds the server's TLS configuration. hosts are listen
// addresses, named in a generated certificate.
func (o *tlsOptions) tlsConfig(hosts []string, stdout io.Writer) (*tls.Config, error) {
	if (o.certFile == "") != (o.keyFile == "") {
		return nil, errors.New("-tls-cert and -tls-key go together")
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.certFile != "" {
		loader, err := ftp.NewCertLoader(o.certFile, o.keyFile)
		if err != nil {
			return nil, fmt.Errorf("TLS certificate: %w", err)
		}
		cfg.GetCertificate = loader.GetCertificate
		fmt.Fprintf(stdout, "ferryd: TLS certificate from %s, reloaded when the files change\n", o.certFile)
	} else {
		cert, err := selfSignedCert(hosts, time.Now())
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
		fmt.Fprintf(stdout, "ferryd: TLS with a generated self-signed certificate\n"+
			"ferryd:   SHA-256 fingerprint %s\n"+
			"ferryd:   public key pin (curl --pinnedpubkey) %s\n",
			certFingerprint(cert.Leaf), pubKeyPin(cert.Leaf))
	}
	if o.clientCA != "" {
		pemData, err := os.ReadFile(o.clientCA)
		if err != nil {
			return nil, fmt.Errorf("TLS client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			return nil, fmt.Errorf("TLS client CA: no PEM certificate in %s", o.clientCA)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// selfSignedCert makes an ECDSA P-256 certificate valid for a year for
// localhost, 127.0.0.1, ::1 and the hosts of the addresses given. It is
// marked as a CA so that clients that take it as their trust anchor (curl
// --cacert with OpenSSL) accept it.
func selfSignedCert(addrs []string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "ferryd self-signed", Organization: []string{"Ferry"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, a := range addrs {
		host, _, err := net.SplitHostPort(a)
		if err != nil || host == "" {
			continue
		}
		if ip, err := netip.ParseAddr(host); err == nil {
			if !ip.IsUnspecified() && !ip.IsLoopback() {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip.AsSlice())
			}
		} else if !strings.EqualFold(host, "localhost") {
			tmpl.DNSNames = append(tmpl.DNSNames, host)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// certFingerprint is the SHA-256 of the certificate in the form of
// "openssl x509 -fingerprint -sha256": AB:CD:...
func certFingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// pubKeyPin is the public key pin that curl's --pinnedpubkey takes:
// sha256// and the base64 SHA-256 of the SubjectPublicKeyInfo.
func pubKeyPin(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return "sha256//" + base64.StdEncoding.EncodeToString(sum[:])
}
