package gen

// clientKind is the program that made a call; it decides userAgent.
type clientKind int

const (
	clientCLI clientKind = iota
	clientBoto3
	clientBoto3Lambda
	clientGoSDK
	clientTerraform
	clientJava
	clientConsole
	clientBrowser // console sign-in pages
	clientService // AWS service: userAgent is its host name
)

type client struct {
	kind    clientKind
	variant int
}

// User agents as real clients send them (versions of 2024).
var (
	cliPrefixes = []string{
		"aws-cli/2.15.30 Python/3.11.8 Darwin/23.3.0 exe/x86_64 prompt/off command/",
		"aws-cli/2.13.25 Python/3.11.5 Windows/10 exe/AMD64 prompt/off command/",
		"aws-cli/2.17.18 md/awscrt#0.20.11 ua/2.0 os/linux#6.5.0-1022-aws md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off md/command#",
		"aws-cli/2.15.58 Python/3.11.8 Linux/6.1.90-99.173.amzn2023.x86_64 exe/x86_64.amzn.2023 prompt/off command/",
	}
	boto3UAs = []string{
		"Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.210-201.852.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69",
		"Boto3/1.28.57 Python/3.9.18 Linux/5.15.0-1051-aws Botocore/1.31.57",
	}
	boto3LambdaUA = "Boto3/1.34.42 md/Botocore#1.34.42 ua/2.0 os/linux#5.10.214-223.853.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.42"
	goSDKPrefix   = "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/"
	terraformUA   = "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.0 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/"
	javaUA        = "aws-sdk-java/2.25.16 Linux/5.10.210-201.852.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy"
	s3ConsoleUA   = "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.750 Linux/5.10.219-186.866.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.412-b08 java/1.8.0_412 vendor/Oracle_Corporation cfg/retry-mode/standard]"
	browserUAs    = []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36 Edg/123.0.0.0",
		"Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3.1 Safari/605.1.15",
	}
	// SDK module versions for api/<service>#<version> in Go user agents.
	goAPIVersions = map[string]string{
		"ec2": "1.173.0", "s3": "1.58.2", "iam": "1.34.3", "dynamodb": "1.34.4",
		"kms": "1.35.3", "sts": "1.30.3", "cloudtrail": "1.42.3",
	}
)

// pickClient chooses what program the caller used.
func (c *call) pickClient() {
	g := c.g
	switch {
	case c.console():
		c.client = client{kind: clientConsole}
	case c.mode == modeUserKey && isBot(c.p.name):
		c.client = client{kind: pick(g, []clientKind{clientBoto3, clientGoSDK, clientTerraform, clientTerraform, clientCLI, clientJava})}
	case c.mode == modeUserKey:
		c.client = client{kind: pick(g, []clientKind{clientCLI, clientCLI, clientCLI, clientBoto3, clientTerraform})}
	case c.p.lambda:
		c.client = client{kind: clientBoto3Lambda}
	case c.p.ec2:
		c.client = client{kind: pick(g, []clientKind{clientBoto3, clientJava, clientGoSDK, clientCLI})}
	case c.p.session == "GitHubActions":
		c.client = client{kind: pick(g, []clientKind{clientTerraform, clientCLI})}
	case c.acct.isPeopleRole(c.p):
		c.client = client{kind: pick(g, []clientKind{clientCLI, clientCLI, clientCLI, clientBoto3, clientTerraform})}
	default:
		c.client = client{kind: pick(g, []clientKind{clientBoto3, clientGoSDK, clientJava})}
	}
	c.client.variant = g.intn(len(cliPrefixes))
}

func isBot(name string) bool {
	for _, b := range botNames {
		if b == name {
			return true
		}
	}
	return false
}

func (a *account) isPeopleRole(p *principal) bool {
	for _, q := range a.people {
		if q == p {
			return true
		}
	}
	return false
}

// appendUA appends the userAgent for the call's client, service and action.
func (c *call) appendUA(b []byte) []byte {
	svc := c.source[:len(c.source)-len(".amazonaws.com")]
	switch c.client.kind {
	case clientCLI:
		b = append(b, cliPrefixes[c.client.variant]...)
		return appendCLICommand(b, svc, c.name)
	case clientBoto3:
		return append(b, boto3UAs[c.client.variant%len(boto3UAs)]...)
	case clientBoto3Lambda:
		return append(b, boto3LambdaUA...)
	case clientGoSDK:
		b = append(b, goSDKPrefix...)
		return appendAPI(b, svc)
	case clientTerraform:
		b = append(b, terraformUA...)
		return appendAPI(b, svc)
	case clientJava:
		return append(b, javaUA...)
	case clientConsole:
		switch svc {
		case "s3":
			return append(b, s3ConsoleUA...)
		case "ec2":
			return append(b, "console.ec2.amazonaws.com"...)
		}
		return append(b, "console.amazonaws.com"...)
	case clientBrowser:
		return append(b, browserUAs[c.client.variant%len(browserUAs)]...)
	case clientService:
		return append(b, c.service...)
	}
	return b
}

func appendAPI(b []byte, svc string) []byte {
	b = append(b, svc...)
	b = append(b, '#')
	v, ok := goAPIVersions[svc]
	if !ok {
		v = "1.0.0"
	}
	return append(b, v...)
}

// appendCLICommand appends the CLI's command name: service.kebab-case-op,
// with the high-level s3 commands for object and bucket listing.
func appendCLICommand(b []byte, svc, op string) []byte {
	if svc == "s3" {
		switch op {
		case "ListBuckets":
			return append(b, "s3.ls"...)
		case "GetObject", "PutObject":
			return append(b, "s3.cp"...)
		}
		svc = "s3api"
	}
	b = append(b, svc...)
	b = append(b, '.')
	for i := 0; i < len(op); i++ {
		ch := op[i]
		if 'A' <= ch && ch <= 'Z' {
			if i > 0 {
				b = append(b, '-')
			}
			ch += 'a' - 'A'
		}
		b = append(b, ch)
	}
	return b
}
