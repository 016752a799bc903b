// Command apiserver is the test tier's Kubernetes control plane: an embedded etcd and the real
// kube-apiserver in this process, the real kube-controller-manager in a child process, all on
// 127.0.0.1 and free ports (docs/testing.md, "API server tier").
//
// Usage:
//
//	apiserver -state DIR [-service-cidr CIDR] [-toleration-seconds N] [-admission-plugins A,B] [-controllers=false]
//
// It writes DIR/kubeconfig (a CA it generated, and a static token in system:masters), prints one
// line `READY <server URL>` on stdout once /readyz answers 200 and the controller manager is
// started (a caller that needs ResourceQuota status waits for it), and stops (etcd closed, child killed)
// when stdin closes or on SIGINT/SIGTERM: the test fixture that started it holds stdin open, so
// the control plane never outlives the test run, even when pytest is killed.
//
// The flags mirror what cluster-bootstrap's kubeadm config gives the API server (kubeadm's own
// defaults plus our extraArgs): the bootstrap's admission plugins (-admission-plugins: NodeRestriction,
// DenyServiceExternalIPs, PodNodeSelector, PodTolerationRestriction) on top of the default ones
// (which include PodSecurity, LimitRanger, ResourceQuota, DefaultTolerationSeconds and
// ValidatingAdmissionPolicy), Node,RBAC authorisation, privileged containers allowed.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"

	_ "k8s.io/component-base/logs/json/register"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	kcm "k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	// kube-controller-manager runs as a re-exec of this binary: component-base's logging
	// configuration can be applied only once per process, and the API server applied it.
	if len(os.Args) > 1 && os.Args[1] == "kube-controller-manager" {
		c := kcm.NewControllerManagerCommand()
		c.SetArgs(os.Args[2:])
		if err := c.ExecuteContext(context.Background()); err != nil {
			fatal("kube-controller-manager: %v", err)
		}
		return
	}
	state := flag.String("state", "", "folder for etcd data, certificates and the kubeconfig (required)")
	serviceCIDR := flag.String("service-cidr", "10.96.0.0/12", "service IP range (cluster-bootstrap's service_cidr)")
	tolerationSeconds := flag.Int("toleration-seconds", 300, "default not-ready/unreachable toleration seconds")
	admissionPlugins := flag.String("admission-plugins", "NodeRestriction", "--enable-admission-plugins (cluster-bootstrap's api_server_admission_plugins)")
	controllers := flag.Bool("controllers", true, "also run kube-controller-manager (quota status, namespace deletion)")
	flag.Parse()
	if *state == "" {
		fatal("-state DIR is required")
	}
	if err := run(*state, *serviceCIDR, *tolerationSeconds, *admissionPlugins, *controllers); err != nil {
		fatal("%v", err)
	}
}

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "apiserver harness: "+format+"\n", args...)
	os.Exit(1)
}

func run(state, serviceCIDR string, tolerationSeconds int, admissionPlugins string, controllers bool) error {
	if err := os.MkdirAll(state, 0o700); err != nil {
		return err
	}
	pki, err := writePKI(filepath.Join(state, "pki"))
	if err != nil {
		return err
	}
	etcd, etcdURL, err := startEtcd(filepath.Join(state, "etcd"))
	if err != nil {
		return err
	}
	defer etcd.Close()

	port, err := freePort()
	if err != nil {
		return err
	}
	server := "https://127.0.0.1:" + strconv.Itoa(port)
	cmd := apiserver.NewAPIServerCommand()
	cmd.SetArgs([]string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--tls-cert-file=" + pki.servingCert,
		"--tls-private-key-file=" + pki.servingKey,
		"--client-ca-file=" + pki.caCert,
		"--token-auth-file=" + pki.tokenFile,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + pki.saKey,
		"--service-account-signing-key-file=" + pki.saKey,
		"--service-cluster-ip-range=" + serviceCIDR,
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=" + admissionPlugins,
		"--allow-privileged=true",
		"--default-not-ready-toleration-seconds=" + strconv.Itoa(tolerationSeconds),
		"--default-unreachable-toleration-seconds=" + strconv.Itoa(tolerationSeconds),
		// No kubelet or node owns 127.0.0.1 here, and the Endpoints of the `kubernetes` Service
		// may not hold a loopback address: leave that Service without endpoints.
		"--endpoint-reconciler-type=none",
	})
	apiErr := make(chan error, 1)
	go func() { apiErr <- cmd.Execute() }()

	if err := waitReady(server, pki.token, apiErr); err != nil {
		return err
	}
	kubeconfig := filepath.Join(state, "kubeconfig")
	if err := writeKubeconfig(kubeconfig, server, pki); err != nil {
		return err
	}
	var child *exec.Cmd
	if controllers {
		child, err = startControllerManager(kubeconfig, pki)
		if err != nil {
			return err
		}
		defer func() {
			_ = child.Process.Signal(syscall.SIGTERM)
			_, _ = child.Process.Wait()
		}()
	}
	fmt.Println("READY " + server)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	stdinClosed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()
	select {
	case <-stop:
	case <-stdinClosed:
	case err := <-apiErr:
		return fmt.Errorf("kube-apiserver stopped: %v", err)
	}
	return nil
}

type pkiFiles struct {
	caCert, caPEM, servingCert, servingKey, saKey, tokenFile, token string
}

// writePKI makes a CA, a serving certificate for 127.0.0.1 signed by it, the service-account
// signing key and a static token file with one admin token (system:masters).
func writePKI(dir string) (*pkiFiles, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kuploy-test-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tokenBytes := make([]byte, 24)
	if _, err := rand.Read(tokenBytes); err != nil {
		return nil, err
	}
	p := &pkiFiles{
		caCert:      filepath.Join(dir, "ca.crt"),
		servingCert: filepath.Join(dir, "apiserver.crt"),
		servingKey:  filepath.Join(dir, "apiserver.key"),
		saKey:       filepath.Join(dir, "sa.key"),
		tokenFile:   filepath.Join(dir, "tokens.csv"),
		token:       hex.EncodeToString(tokenBytes),
	}
	p.caPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	srvKeyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		p.caCert:      []byte(p.caPEM),
		p.servingCert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER}),
		p.servingKey:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: srvKeyDER}),
		p.saKey:       pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)}),
		p.tokenFile:   []byte(p.token + ",kuploy-test-admin,kuploy-test-admin,system:masters\n"),
	}
	for path, data := range files {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func startEtcd(dir string) (*embed.Etcd, string, error) {
	cfg := embed.NewConfig()
	cfg.Dir = dir
	clientPort, err := freePort()
	if err != nil {
		return nil, "", err
	}
	peerPort, err := freePort()
	if err != nil {
		return nil, "", err
	}
	cu, _ := url.Parse("http://127.0.0.1:" + strconv.Itoa(clientPort))
	pu, _ := url.Parse("http://127.0.0.1:" + strconv.Itoa(peerPort))
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = cfg.Name + "=" + pu.String()
	cfg.LogLevel = "error"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, cu.String(), nil
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, "", errors.New("etcd not ready after 60 s")
	}
}

func waitReady(server, token string, apiErr <-chan error) error {
	client := &http.Client{
		Timeout: 2 * time.Second,
		// Readiness only: the CA is checked by every real client through the kubeconfig.
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec
	}
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-apiErr:
			return fmt.Errorf("kube-apiserver stopped before it was ready: %v", err)
		default:
		}
		req, _ := http.NewRequest(http.MethodGet, server+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("kube-apiserver not ready after 120 s")
}

func writeKubeconfig(path, server string, p *pkiFiles) error {
	ca := base64.StdEncoding.EncodeToString([]byte(p.caPEM))
	text := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kuploy-test
  cluster:
    server: %q
    certificate-authority-data: %q
users:
- name: kuploy-test-admin
  user:
    token: %q
contexts:
- name: kuploy-test
  context:
    cluster: kuploy-test
    user: kuploy-test-admin
current-context: kuploy-test
`, server, ca, p.token)
	return os.WriteFile(path, []byte(text), 0o600)
}

func startControllerManager(kubeconfig string, p *pkiFiles) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	c := exec.Command(self, "kube-controller-manager",
		"--kubeconfig="+kubeconfig,
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(port),
		"--service-account-private-key-file="+p.saKey,
		"--root-ca-file="+p.caCert,
		"--use-service-account-credentials=false",
		// No cloud and no node IPAM: there are no nodes.
		"--controllers=*,-nodeipam,-cloud-node-lifecycle",
	)
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	// Dies with us even if we are killed without a chance to stop it.
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("kube-controller-manager: %w", err)
	}
	return c, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
