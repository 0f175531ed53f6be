package main

import "math"

// Published on-demand list prices, USD. AWS: us-east-1, from
// aws.amazon.com/lambda/pricing, /dynamodb/pricing/on-demand,
// /eventbridge/pricing and /cloudwatch/pricing. DynamoDB's on-demand request
// prices are those after the 50% cut of November 2024.
const (
	LambdaArmPerGBs     = 0.0000133334 // arm64, per GB-second
	LambdaPerRequest    = 0.20 / 1e6   // per request
	DynamoPerRRU        = 0.125 / 1e6  // on-demand, per read request unit
	DynamoPerWRU        = 0.625 / 1e6  // on-demand, per write request unit
	DynamoPerGBMonth    = 0.25         // standard table class storage
	SchedulerPerInvoke  = 1.00 / 1e6   // EventBridge Scheduler, per invocation
	LogsPerGBIngested   = 0.50         // CloudWatch Logs standard ingestion
	freeLambdaRequests  = 1e6          // always-free, per month
	freeLambdaGBs       = 400_000      // always-free, per month
	freeDynamoGB        = 25           // always-free storage
	freeSchedulerInvoke = 14e6         // free invocations per month
	freeLogsGB          = 5            // always-free log ingestion
)

// Tencent Cloud SCF (ap-guangzhou), from tencentcloud.com/document/product/583
// ("Billing Overview", "Billable Items"): after the first three months a
// basic package is charged every month with any usage, USD 1.86 (0.06 a
// day), including 500,000 invocations, 100,000 GBs and 2 GB of outbound
// traffic. Usage beyond it is billed per GBs and per invocation at unit
// prices this model does not state (to verify on the SCF pricing page);
// none of the sizes below exceeds the package.
const (
	SCFBasePackage       = 1.86
	SCFPackageInvoke     = 500_000
	SCFPackageGBs        = 100_000
	SCFPackageOutboundGB = 2
)

// The always-on alternative, on-demand in us-east-1, 730 hours a month:
// what the open-source WeCom SCRMs need (an app server, MySQL, Redis).
// Approximate list prices, not confirmed against the pricing pages in this
// run: EC2 t4g.small (2 vCPU, 2 GiB) $0.0168/h, RDS for MySQL db.t4g.micro
// single-AZ $0.016/h plus 20 GB gp3 at $0.115/GB-month, ElastiCache
// cache.t4g.micro $0.016/h.
const (
	HoursPerMonth     = 730
	VMPerHour         = 0.0168
	MySQLPerHour      = 0.016
	MySQLStorageMonth = 20 * 0.115
	RedisPerHour      = 0.016
)

// AlwaysOn is the always-on setup's monthly bill.
func AlwaysOn() float64 {
	return (VMPerHour+MySQLPerHour+RedisPerHour)*HoursPerMonth + MySQLStorageMonth
}

// Modelled I/O time added to the in-process wall time: in process the
// store is a local SQLite file and WeCom a loopback simulator, a deployed
// function waits for the network instead.
const (
	DynamoRoundTripSeconds = 0.005 // one DynamoDB request from Lambda, same region
	WeComRoundTripSeconds  = 0.100 // one WeCom API call from the function's region
	// ColdStartSeconds is the billed INIT of a cold start (custom runtime,
	// provided.al2023): the callback bootstrap's median first invoke under
	// aws-lambda-rie, BENCHMARKS.md "Cold start & size".
	ColdStartSeconds = 0.080
	// PlatformLogBytes is what Lambda itself logs per invocation (START,
	// END and REPORT lines).
	PlatformLogBytes = 300
)

// memGB is a function's memory size in GB (MiB / 1024, as Lambda bills).
func memGB(fn string) float64 {
	for _, f := range Functions {
		if f.Name == fn {
			return float64(f.MemMB) / 1024
		}
	}
	return 0.125
}

// BilledSeconds is the in-process time plus the modelled network waits
// and cold starts.
func (u Usage) BilledSeconds() float64 {
	return u.Seconds + u.Requests*DynamoRoundTripSeconds + u.WeComCalls*WeComRoundTripSeconds + u.ColdStarts*ColdStartSeconds
}

// GBs is the function's GB-seconds.
func (u Usage) GBs(fn string) float64 { return u.BilledSeconds() * memGB(fn) }

// Line is one function's priced month, no free tier.
type Line struct {
	Fn        string
	Usage     Usage
	GBs       float64
	LambdaUSD float64
	DynamoUSD float64
}

// USD is the line's total.
func (l Line) USD() float64 { return l.LambdaUSD + l.DynamoUSD }

// Bill is a month priced.
type Bill struct {
	Lines        []Line
	StorageGB    float64
	StorageUSD   float64
	SchedulerUSD float64
	LogsGB       float64
	LogsUSD      float64
	Total        float64
	// TotalFree is the bill after the AWS always-free tier.
	TotalFree float64
	// SCF is the same month on Tencent SCF (functions only).
	SCFInvocations, SCFGBs, SCF float64
	SCFWithinPackage            bool
}

// priceLine prices fn's usage u, no free tier. An asynchronous invoke is
// billed as a request like any other.
func priceLine(fn string, u Usage) Line {
	l := Line{Fn: fn, Usage: u, GBs: u.GBs(fn)}
	l.LambdaUSD = u.Invocations*LambdaPerRequest + l.GBs*LambdaArmPerGBs
	l.DynamoUSD = u.RRU*DynamoPerRRU + u.WRU*DynamoPerWRU
	return l
}

// logsGB is what u logs: the app's lines and Lambda's own per invocation.
func (u Usage) logsGB() float64 { return (u.LogBytes + u.Invocations*PlatformLogBytes) / 1e9 }

// WelcomedAdds scales the first touch measured for the adds with a welcome
// and two tags to n such adds — n poster invocations, each a cold start as
// in the month's line — and prices it without the free tier: Lambda,
// DynamoDB and the log lines.
func WelcomedAdds(m Month, n float64) (Usage, float64) {
	if m.Arrivals == 0 {
		return Usage{}, 0
	}
	u := m.Welcomed.scaled(n / float64(m.Arrivals))
	u.ColdStarts = u.Invocations
	return u, priceLine(FnFirstTouch, u).USD() + u.logsGB()*LogsPerGBIngested
}

// Price prices m.
func Price(m Month) Bill {
	var b Bill
	var requests, gbs, rru, wru float64
	for _, f := range Functions {
		u := m.Fn[f.Name]
		l := priceLine(f.Name, u)
		b.Lines = append(b.Lines, l)
		requests += u.Invocations
		gbs += l.GBs
		rru += u.RRU
		wru += u.WRU
		b.LogsGB += u.logsGB()
		b.Total += l.USD()
	}
	b.StorageGB = float64(m.TableBytes) / (1 << 30)
	b.StorageUSD = b.StorageGB * DynamoPerGBMonth
	b.SchedulerUSD = m.SchedulerInvocations * SchedulerPerInvoke
	b.LogsUSD = b.LogsGB * LogsPerGBIngested
	b.Total += b.StorageUSD + b.SchedulerUSD + b.LogsUSD

	pos := func(x float64) float64 { return math.Max(0, x) }
	b.TotalFree = pos(requests-freeLambdaRequests)*LambdaPerRequest + pos(gbs-freeLambdaGBs)*LambdaArmPerGBs +
		rru*DynamoPerRRU + wru*DynamoPerWRU + // on-demand requests have no free tier
		pos(b.StorageGB-freeDynamoGB)*DynamoPerGBMonth +
		pos(m.SchedulerInvocations-freeSchedulerInvoke)*SchedulerPerInvoke +
		pos(b.LogsGB-freeLogsGB)*LogsPerGBIngested

	b.SCFInvocations, b.SCFGBs = requests, gbs
	b.SCFWithinPackage = requests <= SCFPackageInvoke && gbs <= SCFPackageGBs
	b.SCF = SCFBasePackage
	return b
}

// FirstTouch is the first-touch line's share of Total (its Lambda,
// DynamoDB and log lines).
func (b Bill) FirstTouch() float64 {
	for _, l := range b.Lines {
		if l.Fn == FnFirstTouch {
			return l.USD() + l.Usage.logsGB()*LogsPerGBIngested
		}
	}
	return 0
}
